namespace Distill.Models.Tokenization;

/// <summary>
/// A token matched literally in the input before any pre-tokenization (chat markers such as &lt;|im_end|&gt;).
/// <paramref name="Special"/> tokens can be skipped on decode.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special);
