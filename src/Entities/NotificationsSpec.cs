namespace ResilienceOperator.Entities;

/// <summary>Where the operator reports failovers, failbacks, open circuits, restores, breached objectives and drill results.</summary>
public sealed class NotificationsSpec
{
    /// <summary>Endpoints that receive every event as a JSON POST with an `Idempotency-Key` header.</summary>
    [SchemaLength(0, 16)]
    public IList<WebhookSpec> Webhooks { get; set; } = [];
}

/// <summary>One HTTP endpoint that receives events.</summary>
public sealed class WebhookSpec
{
    /// <summary>The URL events are POSTed to (`http://` or `https://`).</summary>
    [SchemaRequired]
    [SchemaPattern("^https?://")]
    [SchemaLength(8, 2048)]
    public string Url { get; set; } = "";

    /// <summary>A Secret key in the policy's namespace holding a token sent as `Authorization: Bearer &lt;token&gt;`.</summary>
    public SecretKeyReference? SecretRef { get; set; }
}

/// <summary>One key of a Secret in the policy's namespace.</summary>
public sealed class SecretKeyReference
{
    /// <summary>Name of the Secret.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Name { get; set; } = "";

    /// <summary>Key inside the Secret's data.</summary>
    [SchemaRequired]
    [SchemaLength(1, 253)]
    public string Key { get; set; } = "";
}
