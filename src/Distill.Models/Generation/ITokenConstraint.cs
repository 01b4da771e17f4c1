namespace Distill.Models.Generation;

/// <summary>
/// Restricts which tokens one row of <see cref="LlamaGenerator.Generate"/> may produce (constrained decoding, e.g. a tool call
/// that must match a JSON schema). Before each step the generator asks for the allowed ids and sets every other logit of the
/// row to -inf before temperature, top-k / top-p and sampling (greedy takes the best allowed token); after the step it reports
/// the token chosen. Logprobs stay those of the model's raw logits (see <see cref="GeneratedToken"/>). One instance per row,
/// called from the decoding thread only, and only while the row is still generating.
/// </summary>
public interface ITokenConstraint
{
    /// <param name="allowed">One flag per vocabulary id (the model's vocabulary size); set the allowed ones. At least one must be set.</param>
    void FillAllowed(Span<bool> allowed);

    /// <summary>The token the row produced (an allowed one, or a stop token).</summary>
    void Advance(long tokenId);
}
