-- Argo CD health check for resilience.dev/ResilienceDrill (Lua 5.1, as Argo CD runs it).
-- Progressing: being deleted (checked first: the finalizer removes the drill's fault before it
--              goes; a drill stuck there is never Healthy), no status yet, Pending or Running.
-- Healthy:     Passed: the policy served again within its RTO.
-- Degraded:    Failed (the RTO ran out), or Aborted: a guard rail refused the drill or stopped it
--              (the message names which). Aborted is final, nothing resumes it and the RTO was not
--              proven, so it is Degraded rather than Suspended (which Argo CD keeps for objects
--              paused until someone resumes them).
-- A finished drill is final: the operator never runs it again, so its verdict stands whatever
-- metadata.generation says. While it runs, a Succeeded condition written for an older generation
-- means the operator has not seen the latest spec yet.
local hs = {}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  if obj.metadata.finalizers ~= nil and #obj.metadata.finalizers > 0 then
    hs.message = "Being deleted: waiting for the finalizer " .. table.concat(obj.metadata.finalizers, ", ") .. " (the fault is removed first)"
  else
    hs.message = "Being deleted"
  end
  return hs
end
if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the drill"
  return hs
end
local phase = obj.status.phase
local message = obj.status.message or ""
if phase == "Passed" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end
if phase == "Failed" or phase == "Aborted" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. message
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
