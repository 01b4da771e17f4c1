namespace Distill.Core.Samples;

/// <summary>One distillation sample: one dataset row (see shared/design.md, "The dataset row").</summary>
public sealed record Sample
{
    /// <summary>Deterministic: hash of recipe, template version, seed input and sample index. The resume and dedup key.</summary>
    public required string Id { get; init; }

    /// <summary>One of <see cref="SampleKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>The conversation; each assistant turn carries its own teacher logprobs (<see cref="ChatMessage.Logprobs"/>).</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>JSON text of the tool schemas offered to the teacher (OpenAI "tools" array), or null.</summary>
    public string? Tools { get; init; }

    /// <summary>The extracted final answer (CoT multi-task training).</summary>
    public string? Answer { get; init; }

    /// <summary>The extracted reasoning (CoT multi-task training).</summary>
    public string? Rationale { get; init; }

    // Lineage.
    public string? TemplateId { get; init; }
    public string? TemplateVersion { get; init; }
    public string? Recipe { get; init; }
    public TeacherInfo? Teacher { get; init; }
    public GenerationParams? Params { get; init; }
    public string? SeedInput { get; init; }
    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>True when the teacher saw privileged context (policy, hints) that the stored messages leave out.</summary>
    public bool PrivilegedContextUsed { get; init; }

    // Quality and cost.
    public bool? Verified { get; init; }
    public string? Verifier { get; init; }
    public double? Score { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public double CostUsd { get; init; }
    public double LatencyMs { get; init; }
}

/// <summary>A sample the pipeline rejected, kept so curation can see what each template loses and why.</summary>
public sealed record RejectedSample(Sample Sample, string RejectReason);
