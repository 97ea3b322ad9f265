-- Run a drill now: a ResilienceDrill of this policy named <policy>-drill-now-<UTC yyyyMMddHHmmss>
-- (drill-now-<time> when that would pass 253 characters), with spec.drills' action and
-- maxUnavailable, or KillPods and 1 without spec.drills. The drill's own guard rails still apply:
-- it is Aborted, nothing injected, when the policy is not in a state to be drilled.
local os = require("os")
local stamp = os.date("!%Y%m%d%H%M%S")
local name = obj.metadata.name .. "-drill-now-" .. stamp
if #name > 253 then name = "drill-now-" .. stamp end
local action = "KillPods"
local maxUnavailable = 1
if obj.spec.drills ~= nil then
  if obj.spec.drills.action ~= nil then action = obj.spec.drills.action end
  if obj.spec.drills.maxUnavailable ~= nil then maxUnavailable = obj.spec.drills.maxUnavailable end
end
local drill = {
  ["apiVersion"] = "resilience.dev/v1alpha1",
  ["kind"] = "ResilienceDrill",
  ["metadata"] = {
    ["name"] = name,
    ["namespace"] = obj.metadata.namespace,
    ["labels"] = { ["resilience.dev/policy"] = obj.metadata.name },
    ["ownerReferences"] = {
      { ["apiVersion"] = obj.apiVersion, ["kind"] = obj.kind, ["name"] = obj.metadata.name, ["uid"] = obj.metadata.uid, ["controller"] = true },
    },
  },
  ["spec"] = { ["policy"] = obj.metadata.name, ["action"] = action, ["maxUnavailable"] = maxUnavailable },
}
return { { ["operation"] = "create", ["resource"] = drill } }
