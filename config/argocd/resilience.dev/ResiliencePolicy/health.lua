-- Argo CD health check for resilience.dev/ResiliencePolicy (Lua 5.1, as Argo CD runs it).
-- Healthy:     the operator has seen the latest spec and Ready is True.
-- Degraded:    Ready is False for a reason a person must act on (invalid spec, missing
--              permission, no healthy target), the failover circuit is open, or the policy
--              is degraded (Degraded=True: capacity below spec.degradation's threshold,
--              Deployments shed, or the fallback serving).
-- Progressing: being deleted (deletionTimestamp set: the operator's finalizer gives back replicas,
--              the Service selector and shed Deployments first; a policy stuck there is never
--              Healthy), or anything else: not reconciled yet, first checks running, a standby
--              scaling up.
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
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the policy"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local ready = nil
local circuit = nil
local degradation = nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "CircuitOpen" then circuit = c end
  if c.type == "Degraded" then degradation = c end
end
if circuit ~= nil and circuit.status == "True" then
  hs.status = "Degraded"
  hs.message = "Failover circuit open: " .. (circuit.message or "")
  return hs
end
if degradation ~= nil and degradation.status == "True" then
  hs.status = "Degraded"
  hs.message = "Degraded (" .. (degradation.reason or "") .. "): " .. (degradation.message or "")
  return hs
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
local degraded = { InvalidSpec = true, Forbidden = true, NoHealthyTarget = true, TargetUnhealthy = true }
if ready.status == "False" and degraded[ready.reason] then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
return hs
