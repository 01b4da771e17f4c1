using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Generation;

/// <summary>Greedy, temperature, top-k and top-p selection over a batch of next-token logits.</summary>
public static class TokenSampler
{

    /// <param name="logits">float32 [B, V]</param>
    /// <returns>int64 [B], the chosen token per row.</returns>
    public static Tensor Choose(Tensor logits, GenerationOptions options, Generator? generator)
    {
        using var scope = NewDisposeScope();
        if (options.Greedy) return logits.argmax(-1).MoveToOuterDisposeScope();
        using var temperature = options.Temperature.ToScalar(); // explicit and kept alive past the call (see Scalars)
        var filtered = Filter(logits.div(temperature), options.TopK, options.TopP);
        var probs = filtered.softmax(-1);
        return multinomial(probs, 1, false, generator).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Sets logits outside the top-k and outside the top-p nucleus to -inf. The most likely token always survives.</summary>
    /// <param name="logits">float32 [B, V]</param>
    public static Tensor Filter(Tensor logits, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        var l = logits;
        var vocab = l.shape[^1];
        if (topK > 0 && topK < vocab)
        {
            var kth = l.topk(topK, dim: -1).values.narrow(-1, topK - 1, 1);
            l = l.masked_fill(l.lt(kth), NegativeInfinity);
        }
        if (topP < 1)
        {
            var (sorted, indices) = l.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            // Probability mass strictly before each token: a token is kept while the mass before it is below top_p.
            using var threshold = topP.ToScalar();
            var before = probs.cumsum(-1).add(probs, MinusOne);
            var drop = before.ge(threshold);
            var keptSorted = sorted.masked_fill(drop, NegativeInfinity);
            l = full_like(l, NegativeInfinity).scatter(-1, indices, keptSorted);
        }
        return l.MoveToOuterDisposeScope();
    }
}
