namespace Distill.Models.Generation;

/// <summary>
/// The rows of one request in a <see cref="ContinuousDecoder"/> batch: its prompts (one per row, e.g. the same prompt n times),
/// its token budget, and the generator its rows sample with. The group joins the batch whole and leaves it when all its rows
/// have finished, so its draws are the ones it would get decoded alone.
/// </summary>
public sealed class DecodeGroup
{
    /// <param name="prompts">Token ids per row (each non-empty).</param>
    /// <param name="maxNewTokens">Tokens each row may generate (a row that reaches it finishes with <see cref="FinishReason.Length"/>).</param>
    /// <param name="seed">Seed of the group's own generator; null = libtorch's global generator.</param>
    /// <param name="constraints">Per row, null or a constraint that masks the row's logits before sampling.</param>
    /// <param name="onToken">Called for each generated token (row within the group, token) as soon as it is chosen: streaming.</param>
    /// <param name="onDone">Called once every row has finished, with one result per row, before the batch decodes its next step.</param>
    public DecodeGroup(IReadOnlyList<IReadOnlyList<long>> prompts, int maxNewTokens, ulong? seed = null,
        IReadOnlyList<ITokenConstraint?>? constraints = null, Action<int, GeneratedToken>? onToken = null,
        Action<IReadOnlyList<GenerationResult>>? onDone = null)
    {
        if (prompts.Count == 0) throw new ArgumentException("a group needs at least one row", nameof(prompts));
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), "at least one new token");
        if (constraints is not null && constraints.Count != prompts.Count)
            throw new ArgumentException($"{constraints.Count} constraints for {prompts.Count} rows", nameof(constraints));
        Prompts = prompts;
        MaxNewTokens = maxNewTokens;
        Seed = seed;
        Constraints = constraints;
        OnToken = onToken;
        OnDone = onDone;
    }

    public IReadOnlyList<IReadOnlyList<long>> Prompts { get; }
    public int Rows => Prompts.Count;
    public int MaxNewTokens { get; }
    public ulong? Seed { get; }
    public IReadOnlyList<ITokenConstraint?>? Constraints { get; }
    public Action<int, GeneratedToken>? OnToken { get; }
    public Action<IReadOnlyList<GenerationResult>>? OnDone { get; }

    /// <summary>One result per row, once every row has finished; null before.</summary>
    public IReadOnlyList<GenerationResult>? Results { get; internal set; }
}
