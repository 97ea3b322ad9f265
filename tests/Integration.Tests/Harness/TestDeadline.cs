namespace ResilienceOperator.IntegrationTests.Harness;

/// <summary>
/// Every integration test has a deadline (xunit's Timeout): a test that hangs fails with its name
/// instead of eating the run's time. Generous for a busy 2-core machine.
/// </summary>
internal static class TestDeadline
{
    /// <summary>5 minutes: the longest test (the install test) takes about 90 s.</summary>
    public const int Default = 300_000;
}
