using Distill.Core.Samples;

namespace Distill.Training.Data;

/// <summary>
/// Places one assistant turn's stored teacher logprobs (one entry per token the teacher generated for that turn, in order) on
/// the student's token positions within that turn's span. Only meaningful when the teacher's tokenizer is the student's, so
/// the stored token ids are student ids. The match is anchored at the end of the span: the stored ids are matched right to
/// left against the span's tokens, skipping tokens the teacher did not report (e.g. the closing &lt;|im_end|&gt; the template
/// adds). Every stored entry must find its token inside the span, otherwise the turn is unaligned and trains without logit KD.
/// </summary>
public static class LogprobAligner
{
    /// <summary>For each stored logprob, the index in <paramref name="ids"/> of the token it scores; null when they do not align.</summary>
    /// <param name="ids">Token ids of the whole rendered conversation.</param>
    /// <param name="span">The assistant turn's tokens in <paramref name="ids"/>.</param>
    /// <param name="logprobs">The turn's stored per-token logprobs, with token ids.</param>
    public static int[]? Align(IReadOnlyList<int> ids, TurnSpan span, IReadOnlyList<TokenLogprob> logprobs)
    {
        if (logprobs.Count == 0) return [];
        var positions = new int[logprobs.Count];
        var p = span.End;
        for (var j = logprobs.Count - 1; j >= 0; j--)
        {
            if (logprobs[j].TokenId is not { } wanted) return null;
            while (p >= span.Start && ids[p] != wanted) p--;
            if (p < span.Start) return null;
            positions[j] = p--;
        }
        return positions;
    }
}
