using System.Text.Json.Nodes;
using ResilienceOperator.Admission;

namespace ResilienceOperator.Tests.Admission;

public sealed class AdmissionHandlerTests
{
    private const string Good = """{"targets":[{"name":"primary","priority":0},{"name":"standby","priority":10}],"service":{"name":"checkout"},"healthCheck":{"interval":"1s","timeout":"500ms","retries":2}}""";
    private const string TimeoutOverInterval = """{"targets":[{"name":"primary"}],"service":{"name":"checkout"},"healthCheck":{"interval":"1s","timeout":"2s"}}""";

    private static JsonNode Request(string kind, string operation, string? spec, string? oldSpec = null, string apiVersion = "admission.k8s.io/v1",
        string? oldStatus = null, bool deleting = false)
    {
        JsonNode? Obj(string? s, string? status = null)
        {
            if (s is null) return null;
            var o = new JsonObject
            {
                ["apiVersion"] = "resilience.dev/v1alpha1", ["kind"] = kind,
                ["metadata"] = new JsonObject { ["name"] = "x", ["namespace"] = "shop" },
                ["spec"] = JsonNode.Parse(s),
            };
            if (deleting) o["metadata"]!["deletionTimestamp"] = "2026-11-23T03:00:00Z";
            if (status is not null) o["status"] = JsonNode.Parse(status);
            return o;
        }
        return new JsonObject
        {
            ["apiVersion"] = apiVersion, ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = "705ab4f5-6393-11e8-b7cc-42010a800002",
                ["kind"] = new JsonObject { ["group"] = "resilience.dev", ["version"] = "v1alpha1", ["kind"] = kind },
                ["operation"] = operation,
                ["object"] = Obj(spec),
                ["oldObject"] = Obj(oldSpec, oldStatus),
            },
        };
    }

    [Fact]
    public void Review_BadPolicy_DeniedNamingTheFieldUidEchoed()
    {
        var review = AdmissionHandler.Review(Request("ResiliencePolicy", "CREATE", TimeoutOverInterval));
        Assert.Equal("admission.k8s.io/v1", review["apiVersion"]!.GetValue<string>());
        Assert.Equal("AdmissionReview", review["kind"]!.GetValue<string>());
        var response = review["response"]!;
        Assert.Equal("705ab4f5-6393-11e8-b7cc-42010a800002", response["uid"]!.GetValue<string>());
        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Equal(422, response["status"]!["code"]!.GetValue<int>());
        Assert.Equal("spec.healthCheck.timeout: 2s is longer than spec.healthCheck.interval 1s", response["status"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public void Review_ActiveActiveWithAPromoteHook_DeniedNamingTheField()
    {
        const string spec = """
            {"mode":"ActiveActive","targets":[{"name":"a"},{"name":"b"}],"service":{"name":"checkout"},
             "failover":{"hooks":{"promote":{"template":{"spec":{"containers":[{"name":"p","image":"busybox"}]}}}}}}
            """;
        var response = AdmissionHandler.Review(Request("ResiliencePolicy", "CREATE", spec))["response"]!;
        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.StartsWith("spec.failover.hooks.promote: not allowed with spec.mode ActiveActive", response["status"]!["message"]!.GetValue<string>(),
            StringComparison.Ordinal);
        var passive = spec.Replace("\"ActiveActive\"", "\"ActivePassive\"", StringComparison.Ordinal);
        Assert.True(AdmissionHandler.Review(Request("ResiliencePolicy", "CREATE", passive))["response"]!["allowed"]!.GetValue<bool>());
    }

    [Fact]
    public void Review_GoodPolicy_AllowedV1beta1Echoed()
    {
        var review = AdmissionHandler.Review(Request("ResiliencePolicy", "CREATE", Good, apiVersion: "admission.k8s.io/v1beta1"));
        Assert.Equal("admission.k8s.io/v1beta1", review["apiVersion"]!.GetValue<string>());
        Assert.True(review["response"]!["allowed"]!.GetValue<bool>());
        Assert.Null(review["response"]!["status"]);
    }

    [Fact]
    public void Review_UpdateToBadSpec_Denied()
    {
        var response = AdmissionHandler.Review(Request("ResiliencePolicy", "UPDATE", TimeoutOverInterval, oldSpec: Good))["response"]!;
        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Contains("spec.healthCheck.timeout", response["status"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Review_UpdateLeavingSpecAsItWas_AllowedEvenWhenTheSpecIsInvalid()
    {
        // A finalizer or annotation change on a policy made before a rule existed is never blocked.
        var response = AdmissionHandler.Review(Request("ResiliencePolicy", "UPDATE", TimeoutOverInterval, oldSpec: TimeoutOverInterval))["response"]!;
        Assert.True(response["allowed"]!.GetValue<bool>());
    }

    [Fact]
    public void Review_ObjectBeingDeleted_Allowed()
    {
        var response = AdmissionHandler.Review(Request("ResiliencePolicy", "UPDATE", TimeoutOverInterval, oldSpec: Good, deleting: true))["response"]!;
        Assert.True(response["allowed"]!.GetValue<bool>());
    }

    [Fact]
    public void Review_Delete_Allowed()
    {
        var response = AdmissionHandler.Review(Request("ResiliencePolicy", "DELETE", null, oldSpec: TimeoutOverInterval))["response"]!;
        Assert.True(response["allowed"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("ResilienceBackup", """{"policy":"checkout","location":"default"}""", true, null)]
    [InlineData("ResilienceRestore", """{"policy":"checkout"}""", false, "spec.target: required")]
    [InlineData("ResilienceRestore", """{"policy":"checkout","target":"primary","allowSuspect":true}""", false,
        "spec.allowSuspect: applies only to a backup named in spec.backup (an empty spec.backup never picks a suspect one)")]
    [InlineData("ResilienceRestore", """{"policy":"checkout","target":"primary","backup":"b","allowSuspect":true}""", true, null)]
    [InlineData("ResilienceDrill", """{"policy":"checkout","action":"KillPods","maxUnavailable":1}""", true, null)]
    [InlineData("ResilienceDrill", """{"policy":""}""", false, "spec.policy: required")]
    public void Review_Runs_SpecChecks(string kind, string spec, bool allowed, string? message)
    {
        var response = AdmissionHandler.Review(Request(kind, "CREATE", spec))["response"]!;
        Assert.Equal(allowed, response["allowed"]!.GetValue<bool>());
        Assert.Equal(message, response["status"]?["message"]?.GetValue<string>());
    }

    [Fact]
    public void Review_StartedRunSpecChanged_Denied()
    {
        var response = AdmissionHandler.Review(Request("ResilienceDrill", "UPDATE", """{"policy":"other"}""", oldSpec: """{"policy":"checkout"}""",
            oldStatus: """{"phase":"Running"}"""))["response"]!;
        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Equal("spec: a ResilienceDrill cannot change once it has started (status.phase Running); create a new ResilienceDrill instead",
            response["status"]!["message"]!.GetValue<string>());
        // Not started yet: the spec may still change.
        Assert.True(AdmissionHandler.Review(Request("ResilienceDrill", "UPDATE", """{"policy":"other"}""", oldSpec: """{"policy":"checkout"}"""))["response"]!["allowed"]!.GetValue<bool>());
    }

    [Fact]
    public void Review_NoRequest_DeniedWithEmptyUid()
    {
        var response = AdmissionHandler.Review(JsonNode.Parse("""{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"""))["response"]!;
        Assert.False(response["allowed"]!.GetValue<bool>());
        Assert.Equal("", response["uid"]!.GetValue<string>());
    }

    [Fact]
    public void Paths_OnePerKind() =>
        Assert.Equal("/validate-resilience-dev-v1alpha1-resiliencepolicy", AdmissionHandler.Paths["ResiliencePolicy"]);
}
