namespace Distill.Generation.Batch;

/// <summary>Counts of a batch run so far.</summary>
/// <param name="Rounds">Rounds submitted (a multi-turn recipe needs one per turn; re-queued lines add one).</param>
/// <param name="Files">Files uploaded, one batch each.</param>
/// <param name="Submitted">Request lines submitted, re-submissions included.</param>
/// <param name="Resubmitted">Lines that failed or expired and went into a later round.</param>
/// <param name="SentOnline">Requests sent to the online API after failing every batch attempt (<c>--batch-fallback-online</c>).</param>
/// <param name="Recovered">Responses taken from batches an earlier run left in flight (<c>--resume</c>).</param>
/// <param name="CancelledBatches">Batches this run cancelled (Ctrl+C).</param>
/// <param name="CompletedInCancelled">Lines those batches completed before the cancel: billed by the provider, and kept.</param>
public sealed record BatchProgress(int Rounds, int Files, int Submitted, int Resubmitted, int SentOnline, int Recovered, int CancelledBatches, int CompletedInCancelled);
