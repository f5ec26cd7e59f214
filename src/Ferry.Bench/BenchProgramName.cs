namespace Ferry.Bench;

/// <summary>
/// How ferry-bench names itself in its usage, help and error lines: as <c>ferry bench</c>
/// (errors prefixed <c>ferry:</c>) when <c>ferry bench</c> started it, so people read the
/// command they typed; as <c>ferry-bench</c> when it was run directly (bench/run.sh does).
/// ferry says so by setting <see cref="ViaFerryVariable"/> for it (ferry's BenchForwarder).
/// </summary>
internal sealed record BenchProgramName(string Command, string MessagePrefix)
{
    public const string ViaFerryVariable = "FERRY_BENCH_VIA_FERRY";

    public static BenchProgramName Direct { get; } = new("ferry-bench", "ferry-bench");

    public static BenchProgramName ViaFerry { get; } = new("ferry bench", "ferry");

    public static BenchProgramName FromEnvironment() =>
        Environment.GetEnvironmentVariable(ViaFerryVariable) == "1" ? ViaFerry : Direct;
}
