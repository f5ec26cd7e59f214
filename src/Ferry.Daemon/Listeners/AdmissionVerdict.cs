using System.Net;

namespace Ferry.Daemon.Listeners;

/// <summary>What <see cref="Admission"/> decided for one accepted peer.</summary>
/// <param name="Refusal">Why it is refused; null: admitted.</param>
/// <param name="Detail">For a refusal, the log's explanation.</param>
/// <param name="Source">For an admission, the source now counted against the per-source limits (null when exempt).</param>
internal readonly record struct AdmissionVerdict(RefusalReason? Refusal, string Detail, PeerSource? Source)
{
    public static AdmissionVerdict Admit(PeerSource? source) => new(null, "", source);

    public static AdmissionVerdict Refuse(RefusalReason reason, string detail) => new(reason, detail, null);
}
