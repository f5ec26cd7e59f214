namespace Ferry.Bench.Reports;

/// <summary>What the measured window cost: the client's collections, allocations and CPU time, and the server's CPU time when known.</summary>
internal readonly record struct WindowCosts(int ClientGen0Collections, long ClientAllocatedBytes, TimeSpan ClientCpu, TimeSpan? ServerCpu);
