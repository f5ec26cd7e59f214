extern alias bench;

global using Xunit;

// ferry-bench's namespaces, through the alias its project reference has (Ferry.Tests.csproj).
global using bench::Ferry.Bench;
global using bench::Ferry.Bench.Async;
global using bench::Ferry.Bench.Chat;
global using bench::Ferry.Bench.Datagrams;
global using bench::Ferry.Bench.Epoll;
global using bench::Ferry.Bench.Native;
global using bench::Ferry.Bench.Reports;
