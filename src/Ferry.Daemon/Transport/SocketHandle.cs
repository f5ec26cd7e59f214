using Ferry.Platform.Linux;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Daemon.Transport;

/// <summary>
/// A socket descriptor ferryd accepted itself, closed with a plain close(2): a FIN after what
/// was sent (a reset only where the kernel makes one, over unread data). The runtime's
/// SafeSocketHandle, released on its own, closes abortively unless its Socket was shut down,
/// which would turn every close into a reset. As with any SafeHandle, a call in progress holds
/// it open, so its number is never reused under a call.
/// </summary>
internal sealed class SocketHandle : SafeHandleMinusOneIsInvalid
{
    public SocketHandle(int descriptor)
        : base(ownsHandle: true) => SetHandle(descriptor);

    protected override bool ReleaseHandle() => DescriptorCalls.Close((int)handle) == 0;
}
