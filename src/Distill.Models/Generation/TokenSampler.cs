using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Generation;

/// <summary>Greedy, temperature, top-k and top-p selection over a batch of next-token logits.</summary>
public static class TokenSampler
{
    /// <summary>
    /// The next token per row, greedy or sampled, each group of rows drawing from its own generator (null = the global RNG): a
    /// group's draws are the ones its rows would get alone with that generator.
    /// </summary>
    /// <param name="logits">float32 [B, V]</param>
    /// <param name="groups">Consecutive row ranges covering the batch, each with its generator.</param>
    /// <returns>int64 [B], the chosen token per row.</returns>
    public static Tensor Choose(Tensor logits, GenerationOptions options, IReadOnlyList<(int FirstRow, int Rows, Generator? Generator)> groups)
    {
        using var scope = NewDisposeScope();
        if (options.Greedy) return logits.argmax(-1).MoveToOuterDisposeScope();
        var probs = Probabilities(logits, options);
        var chosen = groups.Select(g => multinomial(probs.narrow(0, g.FirstRow, g.Rows), 1, false, g.Generator)).ToArray();
        return (chosen.Length == 1 ? chosen[0] : cat(chosen, 0)).squeeze(1).MoveToOuterDisposeScope();
    }

    private static Tensor Probabilities(Tensor logits, GenerationOptions options)
    {
        using var temperature = options.Temperature.ToScalar(); // explicit and kept alive past the call (see Scalars)
        return Filter(logits.div(temperature), options.TopK, options.TopP).softmax(-1);
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
