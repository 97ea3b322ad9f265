-- Argo CD health check for resilience.dev/ResilienceRestore (Lua 5.1, as Argo CD runs it).
-- Progressing: being deleted (checked first: a restore with deletionTimestamp is never Healthy),
--              no status yet, Pending or Running (a failed attempt waiting for its retry too).
-- Healthy:     Completed.
-- Degraded:    Failed: every attempt failed, or the restore cannot run (the message says why).
-- A finished restore is final: the operator never runs it again, so its verdict stands whatever
-- metadata.generation says. While it is not finished, a Succeeded condition written for an older
-- generation means the operator has not seen the latest spec yet.
local hs = {}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  if obj.metadata.finalizers ~= nil and #obj.metadata.finalizers > 0 then
    hs.message = "Being deleted: waiting for the finalizer " .. table.concat(obj.metadata.finalizers, ", ")
  else
    hs.message = "Being deleted"
  end
  return hs
end
if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the restore"
  return hs
end
local phase = obj.status.phase
local message = obj.status.message or ""
if phase == "Completed" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end
if phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Succeeded" and c.observedGeneration ~= nil and c.observedGeneration < generation then
      hs.status = "Progressing"
      hs.message = "Waiting for the operator to observe generation " .. generation
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = phase .. ": " .. message
return hs
