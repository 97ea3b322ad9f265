-- Back up now: one ResilienceBackup per location of spec.backup (the location "default" when it
-- lists none), named <policy>-now-<UTC yyyyMMddHHmmss>-<location>. The backup's name is carried in
-- a label of its Job's pods, so it must stay within 63 characters: a longer one becomes
-- backup-now-<time>-<location> (the resilience.dev/policy label still names the policy). The
-- target is left empty: the operator backs up the active target. Owned by the policy, like
-- scheduled backups, and subject to the same retention.
local os = require("os")
local stamp = os.date("!%Y%m%d%H%M%S")
local locations = {}
if obj.spec.backup ~= nil and obj.spec.backup.locations ~= nil then
  for _, l in ipairs(obj.spec.backup.locations) do locations[#locations + 1] = l end
end
if #locations == 0 then locations[1] = "default" end

local result = {}
for i, location in ipairs(locations) do
  local name = obj.metadata.name .. "-now-" .. stamp .. "-" .. location
  if #name > 63 then name = "backup-now-" .. stamp .. "-" .. location end
  local backup = {
    ["apiVersion"] = "resilience.dev/v1alpha1",
    ["kind"] = "ResilienceBackup",
    ["metadata"] = {
      ["name"] = name,
      ["namespace"] = obj.metadata.namespace,
      ["labels"] = { ["resilience.dev/policy"] = obj.metadata.name },
      ["ownerReferences"] = {
        { ["apiVersion"] = obj.apiVersion, ["kind"] = obj.kind, ["name"] = obj.metadata.name, ["uid"] = obj.metadata.uid, ["controller"] = true },
      },
    },
    ["spec"] = { ["policy"] = obj.metadata.name, ["location"] = location },
  }
  result[i] = { ["operation"] = "create", ["resource"] = backup }
end
return result
