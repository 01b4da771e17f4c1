using Distill.Core.Errors;
using Distill.Models.Tokenization;

namespace Distill.Training.Data;

/// <summary>
/// Checks, before any compute, that logit-level KD compares distributions over the same vocabulary.
/// </summary>
public static class TokenizerPreflight
{
    /// <summary>
    /// Stored top-k logprobs are only usable when the teacher that wrote them tokenized with the student's tokenizer.
    /// </summary>
    /// <param name="studentTokenizerId">The student's <see cref="ITextTokenizer.TokenizerId"/>.</param>
    /// <param name="datasets">Each dataset with the teacher tokenizer ids its samples record (null: unknown, e.g. an API teacher).</param>
    /// <exception cref="DistillException">A dataset's teacher tokenizer differs from the student's, or is unknown.</exception>
    public static void RequireStoredLogprobsMatch(string studentTokenizerId, IEnumerable<(string Dataset, IReadOnlyCollection<string?> TeacherTokenizerIds)> datasets)
    {
        foreach (var (dataset, ids) in datasets)
        {
            foreach (var id in ids)
            {
                if (id == studentTokenizerId) continue;
                throw new DistillException(
                    $"logit KD from stored logprobs needs the teacher's tokenizer to be the student's, but dataset '{dataset}' was generated " +
                    $"by a teacher with tokenizer id {id ?? "(unknown)"} and the student's tokenizer id is {studentTokenizerId}",
                    "use loss \"sft\" (sequence-level KD works across tokenizers), or train the student with the teacher's tokenizer.json");
            }
        }
    }

    /// <summary>
    /// Lines for the run log on how each dataset's stored logprobs were produced (teacher, sampling settings, raw or processed),
    /// saying so when a dataset, or the datasets together, mix settings: logit KD then compares the student with teacher
    /// distributions of different temperatures or truncations, brought to the KD temperature where <see cref="StoredLogprobRescale"/> can.
    /// </summary>
    /// <param name="byDataset">Per dataset, turns with logprobs by <see cref="Distill.Data.LogprobStats.ProvenanceKey"/>.</param>
    public static IReadOnlyList<string> DescribeStoredLogprobs(IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> byDataset)
    {
        static string List(IReadOnlyDictionary<string, long> counts) =>
            string.Join("; ", counts.Select(c => $"{c.Key} ({c.Value} turns)"));
        var lines = new List<string>();
        foreach (var (dataset, counts) in byDataset)
            lines.Add(counts.Count > 1
                ? $"logprobs: dataset '{dataset}' mixes settings: {List(counts)}"
                : $"logprobs: dataset '{dataset}': {List(counts)}");
        var across = byDataset.Values.SelectMany(c => c.Keys).Distinct(StringComparer.Ordinal).Count();
        if (byDataset.Count > 1 && across > 1 && byDataset.Values.All(c => c.Count == 1))
            lines.Add($"logprobs: the {byDataset.Count} datasets mix settings ({across} different ones)");
        return lines;
    }

    /// <summary>
    /// Compares a local online teacher's tokenizer with the student's. Identical tokenizers pass; the models' logit rows may still
    /// differ (embedding matrices padded to a multiple of 64, say): the returned vocabulary is the common prefix both logits are
    /// cut to, which only drops padding rows because every real token id is below both tokenizers' size.
    /// </summary>
    /// <param name="student">Student tokenizer.</param>
    /// <param name="teacher">Teacher tokenizer.</param>
    /// <param name="studentRows">Rows of the student's output embedding (its logit width).</param>
    /// <param name="teacherRows">Rows of the teacher's output embedding.</param>
    /// <returns>The logit width both sides are cut to.</returns>
    /// <exception cref="DistillException">The vocabularies or special tokens differ; the message reports the first differences.</exception>
    public static int CheckOnlineTeacher(ITextTokenizer student, ITextTokenizer teacher, long studentRows, long teacherRows)
    {
        var problems = new List<string>();
        if (student.TokenizerId != teacher.TokenizerId)
        {
            if (student.VocabSize != teacher.VocabSize)
                problems.Add($"vocabulary sizes {student.VocabSize} (student) vs {teacher.VocabSize} (teacher)");
            var shared = Math.Min(student.VocabSize, teacher.VocabSize);
            var differing = 0;
            string? first = null;
            for (var i = 0; i < shared; i++)
            {
                var a = student.IdToToken(i);
                var b = teacher.IdToToken(i);
                if (a == b) continue;
                differing++;
                first ??= $"id {i} is '{a}' in the student and '{b}' in the teacher";
            }
            if (differing > 0) problems.Add($"{differing} token ids map to different tokens ({first})");
            foreach (var (token, id) in student.AddedTokens)
            {
                if (!teacher.AddedTokens.TryGetValue(token, out var other)) problems.Add($"special token {token} is missing from the teacher");
                else if (other != id) problems.Add($"special token {token} is id {id} in the student and {other} in the teacher");
            }
            foreach (var token in teacher.AddedTokens.Keys.Where(t => !student.AddedTokens.ContainsKey(t)))
                problems.Add($"special token {token} is missing from the student");
            if (problems.Count == 0)
                problems.Add("the tokenizers list the same tokens but merge differently (their ids differ), so the same text encodes differently");
        }
        var vocab = Math.Max(student.VocabSize, teacher.VocabSize);
        if (studentRows < vocab || teacherRows < vocab)
            problems.Add($"logit rows {studentRows} (student) / {teacherRows} (teacher) do not cover the tokenizer's {vocab} tokens");
        if (problems.Count > 0)
            throw new DistillException(
                $"online KD needs the teacher to share the student's tokenizer, but student tokenizer {student.TokenizerId} and teacher tokenizer {teacher.TokenizerId} differ: " +
                string.Join("; ", problems.Take(5)),
                "use a teacher trained with the student's tokenizer.json, or distill from the teacher's generated text (loss \"sft\")");
        return (int)Math.Min(studentRows, teacherRows);
    }
}
