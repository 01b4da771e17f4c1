using Distill.Core.Samples;
using Distill.Generation.Quality;

namespace Distill.Generation.Tests.Quality;

public sealed class QualityFilterTests
{
    private static Sample S(string user, string answer) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Kind = SampleKinds.Instruction,
        Messages = [ChatMessage.User(user), ChatMessage.Assistant(answer)],
    };

    private const string Long = "Your order A10042 was delivered on 2026-10-28 by FastShip. If anything is missing, reply and we will open a claim for you right away.";

    [Fact]
    public void Exact_duplicate_after_normalization_is_rejected()
    {
        var filter = new QualityFilter();

        Assert.Null(filter.Admit(S("Where is A10042?", Long)));
        Assert.Equal(QualityRejectReasons.Duplicate, filter.Admit(S("where is  A10042?", Long.ToUpperInvariant())));
    }

    [Fact]
    public void Near_duplicate_with_one_word_changed_is_rejected_and_different_text_passes()
    {
        var filter = new QualityFilter();

        Assert.Null(filter.Admit(S("Where is A10042?", Long)));
        Assert.Equal(QualityRejectReasons.NearDuplicate, filter.Admit(S("Where is A10042?", Long.Replace("right away", "right now", StringComparison.Ordinal))));
        Assert.Null(filter.Admit(S("How do refunds work?", "Refunds reach your original payment method within 5 business days of us receiving the returned item.")));
    }

    [Fact]
    public void Threshold_is_configurable()
    {
        var strict = new QualityFilter(new QualityOptions { NearDuplicateThreshold = 0.999 });

        Assert.Null(strict.Admit(S("Where is A10042?", Long)));
        Assert.Null(strict.Admit(S("Where is A10042?", Long.Replace("right away", "right now", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData(128)]
    [InlineData(20)] // not a multiple of the eight lanes: the last four permutations take the scalar loop
    public void Signatures_are_the_same_eight_permutations_at_a_time_as_one_at_a_time(int permutations)
    {
        // On a CPU without AVX-512 both calls take the scalar loop (the pinned values below still check it there).
        var filter = new QualityFilter(new QualityOptions { Permutations = permutations });
        var random = new Random(7);
        foreach (var length in new[] { 0, 1, 4, 5, 6, 64, 1_000, 5_000 })
        {
            var text = new string(Enumerable.Range(0, length).Select(_ => (char)random.Next(32, 0x3000)).ToArray());
            Assert.Equal(filter.Signature(text, vectorized: false), filter.Signature(text, vectorized: true));
        }
    }

    [Fact]
    public void The_signature_hash_family_stays_what_datasets_were_deduplicated_with()
    {
        // A change here changes which rows generation rejects as near-duplicates (and so the quickstart's datasets).
        var signature = new QualityFilter().Signature("where is a10042? your order was delivered.", vectorized: QualityFilter.CanVectorize);
        Assert.Equal(PinnedSignatureStart, signature[..4]);
    }

    // Computed by the filter before it was vectorized (87851c2).
    private static readonly ulong[] PinnedSignatureStart = [327876088967477846, 198138954318144453, 345261951401920977, 242295972297102676];

    [Fact]
    public void Rows_prepared_on_several_threads_and_admitted_in_order_get_the_verdicts_of_admitting_one_by_one()
    {
        var rows = Enumerable.Range(0, 300).Select(i => S($"Where is A{10_000 + i % 40}?", i % 7 == 0 ? Long : Long.Replace("A10042", $"A{10_000 + i % 60}", StringComparison.Ordinal)))
            .Append(S("x", "")).ToList();
        var oneByOne = new QualityFilter();
        var expected = rows.Select(oneByOne.Admit).ToList();

        var prepared = new QualityFilter();
        var verdicts = rows.AsParallel().AsOrdered().Select(prepared.Prepare).ToList().Select(prepared.Admit).ToList();
        // In batches: each batch checked against the rows before it on every core, then within itself in order.
        var batched = new QualityFilter();
        var batchVerdicts = rows.Chunk(64).SelectMany(batch => batched.Admit(batch.Select(batched.Prepare).ToList())).ToList();

        Assert.Equal(expected, verdicts);
        Assert.Equal(expected, batchVerdicts);
        Assert.Contains(QualityRejectReasons.Duplicate, verdicts);
        Assert.Contains(QualityRejectReasons.NearDuplicate, verdicts);
        Assert.Contains(QualityRejectReasons.TooShort, verdicts);
    }

    [Fact]
    public void Stopping_a_comparison_early_gives_the_verdict_of_counting_every_position()
    {
        var random = new Random(11);
        foreach (var permutations in new[] { 128, 20, 7 })
        {
            foreach (var threshold in new[] { 0.85, 0.5, 1.0, 0.0 })
            {
                var needed = QualityFilter.AgreementsNeeded(permutations, threshold);
                for (var trial = 0; trial < 300; trial++)
                {
                    var a = Enumerable.Range(0, permutations).Select(_ => (ulong)random.Next(4)).ToArray();
                    var b = Enumerable.Range(0, permutations).Select(i => random.NextDouble() < 0.8 ? a[i] : (ulong)random.Next(4)).ToArray();
                    var same = a.Zip(b).Count(p => p.First == p.Second);
                    Assert.Equal((double)same / permutations >= threshold, QualityFilter.Agrees(a, b, needed));
                }
            }
        }
    }

    [Fact]
    public void MinHash_estimate_is_close_to_the_true_jaccard()
    {
        var filter = new QualityFilter();

        Assert.Equal(1.0, filter.Similarity(Long, Long));
        Assert.True(filter.Similarity(Long, "Completely unrelated sentence about warranty coverage for electronics.") < 0.2);
    }

    [Fact]
    public void Rows_seeded_from_the_committed_dataset_count_as_seen()
    {
        var filter = new QualityFilter();
        filter.Seed(S("Where is A10042?", Long));

        Assert.Equal(QualityRejectReasons.Duplicate, filter.Admit(S("Where is A10042?", Long)));
    }

    [Fact]
    public void Length_filters_reject_too_short_and_too_long_answers()
    {
        var filter = new QualityFilter(new QualityOptions { MinAnswerChars = 5, MaxAnswerChars = 50 });

        Assert.Equal(QualityRejectReasons.TooShort, filter.Admit(S("q", "ok")));
        Assert.Equal(QualityRejectReasons.TooLong, filter.Admit(S("q", Long)));
        Assert.Null(filter.Admit(S("q", "A fine answer.")));
    }

    [Theory]
    [InlineData(0.85, 14, 9)] // r=9: 1 - (1 - 0.85^9)^14 = 0.975; r=10: 1 - (1 - 0.85^10)^12 = 0.928 < 0.97
    [InlineData(0.999, 2, 64)] // r=64: 1 - (1 - 0.999^64)^2 = 0.996; r=65..128 leave one band: 0.999^r <= 0.937
    public void Bands_are_the_longest_that_keep_pairs_at_the_threshold_as_candidates(double threshold, int bands, int rows)
    {
        Assert.Equal((bands, rows), QualityFilter.BandsFor(128, threshold));
    }

    [Fact]
    public async Task Templated_rows_are_admitted_without_comparing_each_against_every_earlier_one()
    {
        var filter = new QualityFilter();
        var tasks = Distill.Generation.Runner.InstantOrderTeacher.Tasks(1500);
        var teacher = new Distill.Generation.Runner.InstantOrderTeacher(tasks);

        foreach (var task in tasks)
        {
            var answer = (await teacher.CompleteAsync(new Distill.Teachers.TeacherRequest { Messages = [ChatMessage.User(task.Input)] })).Content!;
            Assert.Null(filter.Admit(S(task.Input, answer)));
        }

        // Rows from one template are Jaccard ~0.45 apart: 32 bands of 4 made ~74% of earlier rows candidates (~830,000
        // comparisons here); bands shaped for 0.85 make ~1%.
        Assert.True(filter.Comparisons < 1500L * 1500 / 2 / 20, $"{filter.Comparisons:N0} comparisons");
    }
}
