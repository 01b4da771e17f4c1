using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Data.Curation;

namespace Distill.Training.Data;

/// <summary>What loading the datasets found; written to the run log and report.</summary>
/// <param name="WithLogprobs">Samples with stored logprobs on at least one assistant turn (when the loss uses them).</param>
/// <param name="LogprobsAligned">Of those, samples with at least one turn's logprobs aligned (they carry logit KD targets).</param>
/// <param name="TurnsWithLogprobs">Assistant turns with stored logprobs, over all samples.</param>
/// <param name="TurnsAligned">Of those, the turns whose logprobs aligned.</param>
/// <param name="TurnsIdsFromText">Turns whose logprobs carried token text only, mapped back to ids (foreign APIs, older datasets).</param>
/// <param name="TurnsRescaled">Turns whose logprobs were rescaled to the KD temperature.</param>
/// <param name="LogprobProvenance">Per dataset, turns with logprobs by teacher and provenance (<see cref="LogprobStats.ProvenanceKey"/>).</param>
public sealed record DataStatistics(int Samples, int TrainExamples, int ValidationExamples, int Truncated, int WithLogprobs, int LogprobsAligned,
    long TrainTokens, long TrainLabelTokens, IReadOnlyDictionary<string, IReadOnlyCollection<string?>> TeacherTokenizers,
    int TurnsWithLogprobs = 0, int TurnsAligned = 0, int TurnsIdsFromText = 0, int TurnsRescaled = 0,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>? LogprobProvenance = null);

/// <summary>Encoded train and validation examples from one or more dataset folders.</summary>
public sealed record TrainingData(IReadOnlyList<TrainExample> Train, IReadOnlyList<TrainExample> Validation, DataStatistics Statistics)
{
    /// <summary>Samples left out because <c>data.verified_only</c> is set and they did not pass verification.</summary>
    public int SkippedUnverified { get; init; }

    /// <summary>
    /// Streams the samples of each dataset (folder with manifest and shards, or a loose .parquet file), in the given order,
    /// encodes them and splits them by id hash. Examples are kept in memory (token ids only); the Parquet rows are not.
    /// </summary>
    /// <param name="datasets">Dataset folders or .parquet files.</param>
    /// <param name="encoder">The student's encoder.</param>
    /// <param name="validationFraction">Share of sample ids that go to validation, in [0, 1).</param>
    /// <param name="maxSamples">Stop after this many samples per dataset (0: all).</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="verifiedOnly">Skip samples whose verification did not pass (they do not count towards <paramref name="maxSamples"/>).</param>
    /// <param name="curated">Read each dataset folder's curated view (<c>data.curated</c>, <see cref="CuratedView"/>).</param>
    public static async Task<TrainingData> LoadAsync(IReadOnlyList<string> datasets, SampleEncoder encoder, double validationFraction,
        int maxSamples = 0, CancellationToken ct = default, bool verifiedOnly = false, bool curated = false)
    {
        var samples = new List<(string Dataset, Sample Sample)>();
        var unverified = 0;
        foreach (var dataset in datasets)
        {
            if (!Directory.Exists(dataset) && !File.Exists(dataset))
                throw new DistillException($"dataset '{dataset}' does not exist", "pass a dataset folder (with manifest.json) or a .parquet file");
            var n = 0;
            var source = curated ? CuratedView.ReadAsync(dataset, ct) : DatasetReader.ReadAnyAsync(dataset, ct);
            await foreach (var sample in source.ConfigureAwait(false))
            {
                if (verifiedOnly && sample.Verified != true)
                {
                    unverified++;
                    continue;
                }
                samples.Add((dataset, sample));
                if (maxSamples > 0 && ++n >= maxSamples) break;
            }
        }
        if (verifiedOnly && samples.Count == 0 && unverified > 0)
            throw new DistillException($"data.verified_only is set and none of the {unverified} samples passed verification",
                "train on verified data (see `distill dataset stats` for why samples failed), or set data.verified_only to false");
        var data = FromSamples(samples, encoder, validationFraction);
        return data with { SkippedUnverified = unverified };
    }

    /// <summary>Encodes in-memory samples (tests, generated data).</summary>
    public static TrainingData FromSamples(IEnumerable<(string Dataset, Sample Sample)> samples, SampleEncoder encoder, double validationFraction)
    {
        if (validationFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(validationFraction));
        var train = new List<TrainExample>();
        var validation = new List<TrainExample>();
        var teachers = new Dictionary<string, HashSet<string?>>();
        var provenance = new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal);
        int count = 0, truncated = 0, withLogprobs = 0, aligned = 0, turnsWithLogprobs = 0, turnsAligned = 0, idsFromText = 0, rescaled = 0;
        foreach (var (dataset, sample) in samples)
        {
            count++;
            if (!teachers.TryGetValue(dataset, out var set)) teachers[dataset] = set = [];
            set.Add(sample.Teacher?.TokenizerId);
            var encoded = encoder.Encode(sample);
            if (encoded.Truncated) truncated++;
            if (encoded.HadLogprobs) withLogprobs++;
            if (encoded.LogprobsAligned) aligned++;
            turnsWithLogprobs += encoded.TurnsWithLogprobs;
            turnsAligned += encoded.TurnsAligned;
            idsFromText += encoded.TurnsIdsFromText;
            rescaled += encoded.TurnsRescaled;
            if (encoded.HadLogprobs)
            {
                if (!provenance.TryGetValue(dataset, out var keys)) provenance[dataset] = keys = new(StringComparer.Ordinal);
                foreach (var m in sample.Messages.Where(m => m.Role == ChatRoles.Assistant && m.Logprobs.Count > 0))
                {
                    var key = LogprobStats.ProvenanceKey(sample.Teacher, m.LogprobProvenance);
                    keys[key] = keys.GetValueOrDefault(key) + 1;
                }
            }
            var target = DatasetSplit.IsValidation(sample.Id, validationFraction) ? validation : train;
            target.AddRange(encoded.Examples.Where(e => e.Length > 0 && e.LabelCount > 0));
        }
        if (count == 0) throw new DistillException("the training datasets hold no samples", "generate a dataset first, or check the dataset paths");
        if (train.Count == 0)
            throw new DistillException($"none of the {count} samples has assistant tokens to train on within max_length {encoder.MaxLength}",
                "raise data.max_length, or check that the samples contain assistant turns");
        var stats = new DataStatistics(count, train.Count, validation.Count, truncated, withLogprobs, aligned,
            train.Sum(e => (long)e.Length), train.Sum(e => (long)e.LabelCount),
            teachers.ToDictionary(t => t.Key, t => (IReadOnlyCollection<string?>)t.Value.ToArray()), turnsWithLogprobs, turnsAligned, idsFromText, rescaled,
            provenance.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, long>)p.Value));
        // Generation commits rows in completion order, so two runs of the same generation store the same rows in another order;
        // in id order the seed alone decides the batches, and the same rows train the same model.
        return new TrainingData(InIdOrder(train), InIdOrder(validation), stats);
    }

    /// <summary>Examples by sample id (ordinal); a sample's own examples (answer and rationale tasks) keep their order.</summary>
    private static List<TrainExample> InIdOrder(List<TrainExample> examples) => examples.OrderBy(e => e.Id, StringComparer.Ordinal).ToList();

    /// <summary>Teacher tokenizer ids recorded by each dataset, peeked from its first samples (for the preflight, before encoding).</summary>
    public static async Task<IReadOnlyList<(string Dataset, IReadOnlyCollection<string?> TeacherTokenizerIds)>> PeekTeacherTokenizersAsync(
        IReadOnlyList<string> datasets, int peek = 64, CancellationToken ct = default)
    {
        var result = new List<(string, IReadOnlyCollection<string?>)>();
        foreach (var dataset in datasets)
        {
            if (!Directory.Exists(dataset) && !File.Exists(dataset))
                throw new DistillException($"dataset '{dataset}' does not exist", "pass a dataset folder (with manifest.json) or a .parquet file");
            var ids = new HashSet<string?>();
            var n = 0;
            await foreach (var sample in DatasetReader.ReadAnyAsync(dataset, ct).ConfigureAwait(false))
            {
                ids.Add(sample.Teacher?.TokenizerId);
                if (++n >= peek) break;
            }
            result.Add((dataset, ids.ToArray()));
        }
        return result;
    }
}
