using Distill.Core.Samples;

namespace Distill.Training.Data;

/// <summary>
/// Places a sample's stored teacher logprobs (one entry per generated token of the final assistant turn(s), in order) on the
/// student's token positions. Only meaningful when the teacher's tokenizer is the student's, so the stored token ids are
/// student ids. The match is anchored at the end: the stored ids are matched right to left against the assistant tokens of
/// the rendered conversation, skipping assistant tokens the teacher did not report (e.g. the closing &lt;|im_end|&gt; the
/// template adds). Every stored entry must find its token, otherwise the sample is reported as unaligned and trains
/// without logit KD.
/// </summary>
public static class LogprobAligner
{
    /// <summary>For each stored logprob, the index in <paramref name="ids"/> of the token it scores; null when they do not align.</summary>
    /// <param name="ids">Token ids of the whole rendered conversation.</param>
    /// <param name="assistantMask">True where a token is assistant output.</param>
    /// <param name="logprobs">The stored per-token logprobs, with token ids.</param>
    public static int[]? Align(IReadOnlyList<int> ids, IReadOnlyList<bool> assistantMask, IReadOnlyList<TokenLogprob> logprobs)
    {
        if (logprobs.Count == 0) return [];
        var positions = new int[logprobs.Count];
        var p = ids.Count - 1;
        for (var j = logprobs.Count - 1; j >= 0; j--)
        {
            if (logprobs[j].TokenId is not { } wanted) return null;
            while (p >= 0 && !(assistantMask[p] && ids[p] == wanted)) p--;
            if (p < 0) return null;
            positions[j] = p--;
        }
        return positions;
    }
}
