using System.Text.Json.Serialization;
using Distill.Core.Samples;
using Parquet.Schema;

namespace Distill.Data.Storage;

/// <summary>
/// Reading shards written by schema version 1. Version 1 stored teacher logprobs for the final assistant turn only, in a
/// top-level <c>teacher_logprobs</c> column; version 2 stores them per assistant turn in <c>messages[].logprobs</c>. A version 1
/// row reads as if its final-turn logprobs had been written on its last assistant message, which is what they scored.
/// </summary>
internal static class SchemaV1
{
    public const string TeacherLogprobsColumn = "teacher_logprobs";

    /// <summary>True when the file has version 1's top-level <c>teacher_logprobs</c> column.</summary>
    public static bool HasFinalTurnLogprobs(ParquetSchema schema) =>
        schema.Fields.Any(f => f.Name == TeacherLogprobsColumn);

    /// <summary>The one version 1 column that version 2 moved; deserialized alongside the version 2 row type.</summary>
    public sealed class FinalTurnLogprobsRow
    {
        [JsonPropertyName(TeacherLogprobsColumn)] public List<TokenLogprobRow> TeacherLogprobs { get; set; } = [];
    }

    /// <summary>
    /// Puts each row's final-turn logprobs on its last assistant message (rows and <paramref name="legacy"/> are the same row
    /// group, row for row). A row whose last assistant message already has logprobs keeps them; one without any assistant
    /// message has nothing the logprobs could score, and they are dropped.
    /// </summary>
    public static void MoveToLastAssistantTurn<T>(IList<T> rows, IList<FinalTurnLogprobsRow> legacy) where T : SampleRow
    {
        if (rows.Count != legacy.Count)
            throw new InvalidDataException($"the teacher_logprobs column has {legacy.Count} rows, the row group {rows.Count}");
        for (var i = 0; i < rows.Count; i++)
        {
            if (legacy[i].TeacherLogprobs.Count == 0) continue;
            var last = rows[i].Messages.FindLastIndex(m => m.Role == ChatRoles.Assistant);
            if (last >= 0 && rows[i].Messages[last].Logprobs.Count == 0) rows[i].Messages[last].Logprobs = legacy[i].TeacherLogprobs;
        }
    }
}
