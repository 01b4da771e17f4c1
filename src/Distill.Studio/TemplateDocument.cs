using Distill.Evaluation.Curation;

namespace Distill.Studio;

/// <summary>
/// One template version's numbers for the template page (those of <c>distill templates stats</c>), with the computed rates spelled
/// out so the page does no arithmetic of its own.
/// </summary>
public sealed record TemplateDocument(
    string Key, string TemplateId, string TemplateVersion, IReadOnlyList<string> Datasets, int Attempted, int Accepted, double AcceptanceRate,
    IReadOnlyDictionary<string, int> RejectsByReason, double? VerificationPassRate, int VerificationChecked, double? SelfConsistencyAgreement,
    double ExactDuplicateRate, double NearDuplicateRate, double Distinct1, double Distinct2, double SelfSimilarity, LengthSummary AssistantWords,
    double? ToolCallValidity, int ToolCalls, double? TokensPerAccepted, double? CostPerAccepted, double? VerifiedPerDollar,
    IReadOnlyList<StudentScoreDocument> Students)
{
    public static TemplateDocument From(TemplateVersionStats s) => new(
        s.Key, s.TemplateId, s.TemplateVersion, s.Datasets, s.Attempted, s.Accepted, s.AcceptanceRate, s.RejectsByReason, s.VerificationPassRate,
        s.VerificationChecked, s.SelfConsistencyAgreement, s.ExactDuplicateRate, s.NearDuplicateRate, s.Distinct1, s.Distinct2, s.SelfSimilarity,
        s.AssistantWords, s.ToolCallValidity, s.ToolCalls, s.TokensPerAccepted, s.CostPerAccepted, s.VerifiedPerDollar,
        s.Students.Select(x => new StudentScoreDocument(x.Model, x.Tasks, x.SuccessRate)).ToArray());
}

public sealed record StudentScoreDocument(string Model, int Tasks, double SuccessRate);
