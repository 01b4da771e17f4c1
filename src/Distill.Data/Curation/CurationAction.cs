namespace Distill.Data.Curation;

/// <summary>What a curator decided about one sample.</summary>
public enum CurationAction
{
    /// <summary>Keep the sample; for a sample the pipeline rejected, bring it back.</summary>
    Accept,

    /// <summary>Drop the sample, for a stated reason.</summary>
    Reject,

    /// <summary>Keep the sample with the curator's text in place of the teacher's.</summary>
    Edit,
}
