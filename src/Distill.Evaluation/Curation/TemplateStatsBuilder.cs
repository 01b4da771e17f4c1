using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Quality;
using Distill.Generation.Recipes;

namespace Distill.Evaluation.Curation;

/// <summary>
/// Accumulates dataset rows (accepted and rejected) per template id and version, then computes <see cref="TemplateVersionStats"/>.
/// Duplicates are judged in the order rows are added, by the generation pipeline's own filter (<see cref="QualityFilter"/>:
/// exact normalized-text hash, then MinHash near-duplicates), so the rates mean what the dedup step means.
/// A row's own work (its dedup hash and signature, tool-call checks, word hashes) is <see cref="Prepare"/>, which needs no shared
/// state and may run on several threads; the batch <c>Add</c> then counts them in order (its near-duplicate search against
/// earlier rows on every core). Memory grows with the distinct n-grams and the dedup index, not with every row's words.
/// </summary>
public sealed class TemplateStatsBuilder(double nearDuplicateThreshold = 0.85)
{
    /// <summary>Self-similarity is pairwise, so it is measured on the first this many accepted rows of each version.</summary>
    public const int SelfSimilarityTexts = 200;

    /// <summary>Rows without template lineage are grouped under this id and version.</summary>
    public const string Unknown = "-";

    private readonly Dictionary<(string Id, string Version), Accumulator> _versions = [];
    private readonly QualityOptions _dedupOptions = new() { MinAnswerChars = 0, NearDuplicateThreshold = nearDuplicateThreshold };
    private QualityFilter? _preparer;

    /// <summary>A row with the work that does not depend on the rows before it done.</summary>
    public sealed record PreparedRow(Sample Sample, QualityFilter.Prepared Dedup, int Calls, int ValidCalls, IReadOnlyList<ulong> WordHashes);

    /// <summary>Adds one row: accepted when <paramref name="rejectReason"/> is null.</summary>
    public void Add(Sample sample, string? rejectReason, string dataset) => Add([(Prepare(sample), rejectReason, dataset)]);

    /// <summary>The per-row work of <see cref="Add(Sample, string?, string)"/>; thread-safe.</summary>
    public PreparedRow Prepare(Sample sample)
    {
        var (calls, valid) = ToolCallValidity(sample);
        var words = new List<ulong>();
        foreach (var m in sample.Messages.Where(m => m.Role == ChatRoles.Assistant))
        {
            TextDiversity.AppendWordHashes(m.Reasoning, words);
            TextDiversity.AppendWordHashes(m.Content, words);
        }
        // Every version's filter has the same options, so one of them prepares for all (preparing reads no state).
        var preparer = LazyInitializer.EnsureInitialized(ref _preparer, () => new QualityFilter(_dedupOptions));
        return new PreparedRow(sample, preparer.Prepare(sample), calls, valid, words);
    }

    /// <summary>Adds prepared rows (a null reason: accepted), in the order rows are judged for duplicates.</summary>
    public void Add(IReadOnlyList<(PreparedRow Row, string? RejectReason, string Dataset)> rows)
    {
        foreach (var version in rows.GroupBy(r => (r.Row.Sample.TemplateId ?? Unknown, r.Row.Sample.TemplateVersion ?? Unknown)))
        {
            if (!_versions.TryGetValue(version.Key, out var acc)) _versions[version.Key] = acc = new Accumulator(_dedupOptions);
            acc.Add(version.ToList());
        }
    }

    /// <summary>The statistics per version, sorted by id then version; <paramref name="students"/> maps <c>id@version</c> to scores.</summary>
    public IReadOnlyList<TemplateVersionStats> Build(IReadOnlyDictionary<string, IReadOnlyList<StudentScore>>? students = null) =>
        _versions.OrderBy(v => v.Key.Id, StringComparer.Ordinal).ThenBy(v => v.Key.Version, StringComparer.Ordinal)
            .Select(v => v.Value.Build(v.Key.Id, v.Key.Version) is var s && students?.GetValueOrDefault(s.Key) is { } scores ? s with { Students = scores } : s)
            .ToList();

    /// <summary>Tool calls of a row, and how many are valid: arguments a JSON object, and no tool result that is an error.</summary>
    public static (int Calls, int Valid) ToolCallValidity(Sample sample)
    {
        var failed = sample.Messages.Where(m => m.Role == ChatRoles.Tool && m.ToolCallId is not null && (m.IsError || IsErrorText(m.Content)))
            .Select(m => m.ToolCallId!).ToHashSet(StringComparer.Ordinal);
        int calls = 0, valid = 0;
        foreach (var call in sample.Messages.Where(m => m.Role == ChatRoles.Assistant).SelectMany(m => m.ToolCalls))
        {
            calls++;
            if (IsJsonObject(call.Arguments) && !failed.Contains(call.Id)) valid++;
        }
        return (calls, valid);
    }

    /// <summary>Rows written before tool turns carried <see cref="ChatMessage.IsError"/> mark a failed call only in the text.</summary>
    private static bool IsErrorText(string? toolResult) => toolResult?.TrimStart().StartsWith("{\"error\"", StringComparison.Ordinal) == true;

    private static bool IsJsonObject(string arguments)
    {
        try
        {
            using var doc = JsonDocument.Parse(arguments);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The assistant's words in a row: content and reasoning of every assistant turn.</summary>
    public static IReadOnlyList<string> AssistantWords(Sample sample) =>
        sample.Messages.Where(m => m.Role == ChatRoles.Assistant)
            .SelectMany(m => TextDiversity.Words(m.Reasoning).Concat(TextDiversity.Words(m.Content))).ToList();

    private sealed class Accumulator(QualityOptions dedupOptions)
    {
        private readonly QualityFilter _dedup = new(dedupOptions);
        private readonly HashSet<string> _datasets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _rejects = new(StringComparer.Ordinal);
        private readonly DistinctNGrams _distinct1 = new(1), _distinct2 = new(2);
        private readonly List<int> _wordCounts = [];
        private readonly List<IReadOnlyList<string>> _similarityTexts = [];
        private int _attempted, _accepted, _verified, _verifiedAll, _checked, _exact, _near, _calls, _validCalls, _scRows;
        private double _scSum, _cost;
        private long _tokens;

        /// <summary>One version's rows of a batch, in order (GroupBy keeps it).</summary>
        public void Add(IReadOnlyList<(PreparedRow Row, string? RejectReason, string Dataset)> rows)
        {
            var verdicts = _dedup.Admit(rows.Select(r => r.Row.Dedup).ToList());
            for (var i = 0; i < rows.Count; i++) Add(rows[i].Row, rows[i].RejectReason, rows[i].Dataset, verdicts[i]);
        }

        private void Add(PreparedRow row, string? reject, string dataset, string? dedupVerdict)
        {
            var sample = row.Sample;
            _datasets.Add(dataset);
            _attempted++;
            _tokens += sample.PromptTokens + sample.CompletionTokens;
            _cost += sample.CostUsd;
            if (sample.Verified is { } verified)
            {
                _checked++;
                if (verified) _verifiedAll++;
            }
            if (sample.Verifier == AnswerMatcher.SelfConsistency && sample.Score is { } agreement)
            {
                _scRows++;
                _scSum += agreement;
            }
            _calls += row.Calls;
            _validCalls += row.ValidCalls;
            switch (dedupVerdict)
            {
                case QualityRejectReasons.Duplicate: _exact++; break;
                case QualityRejectReasons.NearDuplicate: _near++; break;
            }
            if (reject is not null)
            {
                _rejects[reject] = _rejects.GetValueOrDefault(reject) + 1;
                return;
            }
            _accepted++;
            if (sample.Verified == true) _verified++;
            _distinct1.Add(row.WordHashes);
            _distinct2.Add(row.WordHashes);
            _wordCounts.Add(row.WordHashes.Count);
            if (_similarityTexts.Count < SelfSimilarityTexts) _similarityTexts.Add(AssistantWords(sample));
        }

        public TemplateVersionStats Build(string id, string version) => new()
        {
            TemplateId = id,
            TemplateVersion = version,
            Datasets = _datasets.Order(StringComparer.Ordinal).ToList(),
            Attempted = _attempted,
            Accepted = _accepted,
            RejectsByReason = _rejects.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).ToDictionary(r => r.Key, r => r.Value),
            Verified = _verified,
            VerifiedAll = _verifiedAll,
            VerificationChecked = _checked,
            SelfConsistencyAgreement = _scRows == 0 ? null : _scSum / _scRows,
            SelfConsistencyRows = _scRows,
            ExactDuplicateRate = _attempted == 0 ? 0 : (double)_exact / _attempted,
            NearDuplicateRate = _attempted == 0 ? 0 : (double)_near / _attempted,
            Distinct1 = _distinct1.Value,
            Distinct2 = _distinct2.Value,
            SelfSimilarity = TextDiversity.SelfSimilarity(_similarityTexts),
            AssistantWords = LengthSummary.Of(_wordCounts),
            ToolCalls = _calls,
            ValidToolCalls = _validCalls,
            Tokens = _tokens,
            CostUsd = _cost,
        };
    }
}
