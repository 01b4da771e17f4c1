namespace Distill.Evaluation.Curation;

/// <summary>A student trained (in part) on a template version's data, and how it did in a held-out evaluation.</summary>
/// <param name="Evaluation">The evaluation.json it came from.</param>
public sealed record StudentScore(string Model, string Evaluation, int Tasks, int Succeeded)
{
    public double SuccessRate => Tasks == 0 ? 0 : (double)Succeeded / Tasks;
}

/// <summary>
/// What one template version produced, over every dataset read: yield, why samples were lost, quality, diversity, cost, and
/// the held-out score of students trained on its data where run lineage links them. Rates are null where nothing was measured.
/// </summary>
public sealed record TemplateVersionStats
{
    public required string TemplateId { get; init; }
    public required string TemplateVersion { get; init; }
    public string Key => $"{TemplateId}@{TemplateVersion}";

    /// <summary>The datasets its rows were read from.</summary>
    public required IReadOnlyList<string> Datasets { get; init; }

    /// <summary>Rows written (accepted + rejected): every sample the pipeline finished, one per attempt.</summary>
    public required int Attempted { get; init; }
    public required int Accepted { get; init; }
    public required IReadOnlyDictionary<string, int> RejectsByReason { get; init; }
    public double AcceptanceRate => Attempted == 0 ? 0 : (double)Accepted / Attempted;

    /// <summary>Accepted rows whose verification passed.</summary>
    public required int Verified { get; init; }

    /// <summary>Rows (accepted or rejected) that a verifier judged.</summary>
    public required int VerificationChecked { get; init; }

    /// <summary>Of the judged rows, the share that passed.</summary>
    public double? VerificationPassRate => VerificationChecked == 0 ? null : (double)VerifiedAll / VerificationChecked;

    /// <summary>Judged rows that passed, accepted or not (the numerator of <see cref="VerificationPassRate"/>).</summary>
    public required int VerifiedAll { get; init; }

    /// <summary>Mean agreement of the self-consistency votes (the score of rows verified by <c>self_consistency</c>).</summary>
    public double? SelfConsistencyAgreement { get; init; }
    public int SelfConsistencyRows { get; init; }

    /// <summary>Share of attempted rows whose normalized text repeats an earlier row's exactly.</summary>
    public required double ExactDuplicateRate { get; init; }

    /// <summary>Share of attempted rows (not exact repeats) within the near-duplicate threshold of an earlier row (MinHash).</summary>
    public required double NearDuplicateRate { get; init; }

    /// <summary>Distinct unigrams and bigrams of the accepted rows' assistant text (<see cref="TextDiversity.DistinctN"/>).</summary>
    public required double Distinct1 { get; init; }
    public required double Distinct2 { get; init; }

    /// <summary>Mean pairwise word-trigram Jaccard of (up to <see cref="TemplateStatsBuilder.SelfSimilarityTexts"/>) accepted rows.</summary>
    public required double SelfSimilarity { get; init; }

    /// <summary>Words of assistant text (content and reasoning) per accepted row.</summary>
    public required LengthSummary AssistantWords { get; init; }

    /// <summary>Tool calls in all attempted rows, and those whose arguments are a JSON object and whose result is not an error.</summary>
    public required int ToolCalls { get; init; }
    public required int ValidToolCalls { get; init; }
    public double? ToolCallValidity => ToolCalls == 0 ? null : (double)ValidToolCalls / ToolCalls;

    /// <summary>Prompt + completion tokens and cost of every attempt, rejected ones included (they were paid for).</summary>
    public required long Tokens { get; init; }
    public required double CostUsd { get; init; }
    public double? TokensPerAccepted => Accepted == 0 ? null : (double)Tokens / Accepted;
    public double? CostPerAccepted => Accepted == 0 ? null : CostUsd / Accepted;

    /// <summary>Verified accepted samples per dollar spent; null when nothing was paid (local or scripted teachers).</summary>
    public double? VerifiedPerDollar => CostUsd <= 0 ? null : Verified / CostUsd;

    /// <summary>Students whose run lineage includes this version, with their held-out scores.</summary>
    public IReadOnlyList<StudentScore> Students { get; init; } = [];
}
