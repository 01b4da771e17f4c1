namespace Distill.Core.Samples;

/// <summary>A candidate token and its log-probability.</summary>
/// <param name="TokenId">The token id in the teacher's tokenizer, when known (local teachers); null for API teachers.</param>
public sealed record TopLogprob(string Token, int? TokenId, double Logprob);

/// <summary>One generated token with its log-probability and the teacher's top-k alternatives at that position.</summary>
public sealed record TokenLogprob(string Token, int? TokenId, double Logprob, IReadOnlyList<TopLogprob> Top);
