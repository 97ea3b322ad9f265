-- Argo CD resource actions of a ResiliencePolicy (Lua 5.1; Argo CD opens only the base, table and a
-- safe os library, so no string functions). Every action is listed; one that cannot help now is
-- disabled rather than hidden, so the menu does not change shape.
--   failback:   annotate resilience.dev/failback=now: the operator moves traffic back to the
--               preferred target when it passes its checks. Enabled for failback Manual while the
--               policy serves from a target other than the preferred one (FailedOver=True,
--               reason FailedOver); with Automatic failback the operator goes back on its own.
--   backup-now: create a ResilienceBackup per location of spec.backup (needs spec.backup).
--   drill:      create a ResilienceDrill with spec.drills' action and maxUnavailable (KillPods, 1
--               without spec.drills). Disabled where the drill's guard rails would abort it at
--               once: DryRun, not Ready, failed over.
-- All three are disabled while the policy is being deleted.
local actions = {}
local deleting = obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil
local spec = obj.spec or {}
local conditions = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do conditions[c.type] = c end
end
local failedOver = conditions["FailedOver"] ~= nil and conditions["FailedOver"].status == "True"
local manual = spec.failover ~= nil and spec.failover.failback == "Manual"
local awayFromPreferred = failedOver and conditions["FailedOver"].reason == "FailedOver"
local ready = conditions["Ready"] ~= nil and conditions["Ready"].status == "True"

actions["failback"] = {
  ["iconClass"] = "fa fa-fw fa-undo",
  ["displayName"] = "Fail back to the preferred target",
  ["disabled"] = deleting or not (manual and awayFromPreferred),
}
actions["backup-now"] = {
  ["iconClass"] = "fa fa-fw fa-download",
  ["displayName"] = "Back up now",
  ["disabled"] = deleting or spec.backup == nil,
}
actions["drill"] = {
  ["iconClass"] = "fa fa-fw fa-bolt",
  ["displayName"] = "Run a drill",
  ["disabled"] = deleting or spec.enforcement == "DryRun" or not ready or failedOver,
}
return actions
