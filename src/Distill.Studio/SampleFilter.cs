namespace Distill.Studio;

/// <summary>
/// The sample list's filters; null or empty means "any". A field filter matches its value exactly, <see cref="None"/> matching
/// samples without one. <see cref="Text"/> is full-text: every whitespace-separated term must occur, case ignored.
/// </summary>
public sealed record SampleFilter
{
    /// <summary>The value that stands for "not set" in filters and facets.</summary>
    public const string None = "(none)";

    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    /// <summary><c>accepted</c> or <c>rejected</c>.</summary>
    public string? Source { get; init; }
    public string? Template { get; init; }
    public string? Version { get; init; }
    public string? Recipe { get; init; }
    public string? Teacher { get; init; }
    public string? Kind { get; init; }

    /// <summary>The seed task's tier (the world's T0..T4).</summary>
    public string? Tier { get; init; }

    /// <summary><c>true</c>, <c>false</c> or <see cref="None"/> (not judged).</summary>
    public string? Verified { get; init; }

    /// <summary>The pipeline's reject reason.</summary>
    public string? Reason { get; init; }

    /// <summary>The curator's latest decision: <c>accept</c>, <c>reject</c>, <c>edit</c>, or <see cref="None"/> (undecided).</summary>
    public string? Decision { get; init; }

    public string? Text { get; init; }

    /// <summary>0-based.</summary>
    public int Page { get; init; }

    public int PageSize { get; init; } = DefaultPageSize;
}
