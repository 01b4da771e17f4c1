namespace Distill.Core.Samples;

/// <summary>Which teacher produced a sample.</summary>
/// <param name="Provider">"azure-openai", "openai-compatible", "local", ...</param>
/// <param name="Model">Model name or Azure deployment name.</param>
/// <param name="TokenizerId">Hash of the teacher tokenizer's vocabulary and merges, when known; logit KD refuses a mismatch.</param>
public sealed record TeacherInfo(string Provider, string Model, string? TokenizerId);

/// <summary>The sampling parameters a sample was generated with.</summary>
public sealed record GenerationParams(double? Temperature, double? TopP, long? Seed, int? MaxTokens);
