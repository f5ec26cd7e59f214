using System.IO.Pipelines;
using Ferry.Daemon.Connections;
using Ferry.Daemon.Services.Broker;
using Ferry.Daemon.Services.Fanout;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Tests;

public sealed class BrokerServiceTests
{
    [Fact]
    public async Task InputThatPiledUpWhileTheSenderWaited_IsPassedOnInPacingSteps_SoAReaderThatKeepsUpIsNotCut()
    {
        var cancel = TestContext.Current.CancellationToken;
        var limits = new OutboundLimits(HardLimit: 4096, SoftLimit: 0, SoftTime: TimeSpan.FromSeconds(5));
        var delivery = new LocalRoomDelivery();
        await using var broker = new BrokerService(limits, TimeProvider.System, NullLogger.Instance, delivery);
        using var reader = new InMemoryConnection();
        // Room for all of it in the sender's pipe, so it is written before the broker reads any.
        using var sender = new InMemoryConnection(toServer: new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
        var readerRun = reader.Run(broker);
        await InMemoryConnection.WaitUntilAsync(() => delivery.Members(BrokerService.Room).Any(), "the reader joined", cancel);

        // Sixteen times the hard limit is waiting before the broker reads any of it, as input
        // does that kept arriving while the sender was paced.
        var payload = new byte[16 * 4096];
        new Random(3).NextBytes(payload);
        await sender.ClientWriter.WriteAsync(payload, cancel).AsTask().WaitAsync(InMemoryConnection.Timeout, cancel);
        var senderRun = sender.Run(broker);

        Assert.Equal(payload, await reader.ReadExactlyAsync(payload.Length, cancel));
        await sender.ClientWriter.CompleteAsync();
        Assert.Equal(CloseReason.PeerClosed, await senderRun.WaitAsync(InMemoryConnection.Timeout, cancel));
        reader.Stop();
        Assert.Equal(CloseReason.Shutdown, await readerRun.WaitAsync(InMemoryConnection.Timeout, cancel));
    }
}
