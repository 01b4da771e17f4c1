using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Training.Data;
using Distill.Training.Schedules;

namespace Distill.Training.Tests.Data;

/// <summary>Stored top-k logprobs brought to the KD temperature, or refused with the reason, and where their token ids come from.</summary>
[Collection(TrainingCollection.Name)]
public class StoredLogprobRescaleTests(TrainingFixture fx)
{
    private static LogprobProvenance Processed(double temperature, double? topP = null) => new(temperature, topP, 3, Raw: false);

    [Fact]
    public void Rescaling_multiplies_by_t1_over_t2_and_renormalizes_over_the_kept_ids()
    {
        // p = (0.5, 0.25) at T1 = 1 brought to T2 = 0.5: p^2 = (0.25, 0.0625), renormalized (0.8, 0.2).
        float[] sharper = [(float)Math.Log(0.5), (float)Math.Log(0.25)];
        StoredLogprobRescale.Apply(sharper, 2.0);
        Assert.Equal(Math.Log(0.8), sharper[0], 5);
        Assert.Equal(Math.Log(0.2), sharper[1], 5);

        // To T2 = 2: sqrt(p) = (0.7071, 0.5), renormalized (0.5858, 0.4142).
        float[] flatter = [(float)Math.Log(0.5), (float)Math.Log(0.25)];
        StoredLogprobRescale.Apply(flatter, 0.5);
        Assert.Equal(Math.Log(0.5857864), flatter[0], 5);
        Assert.Equal(Math.Log(0.4142136), flatter[1], 5);

        // A -inf entry keeps no mass; the rest sum to 1.
        float[] withZero = [(float)Math.Log(0.5), float.NegativeInfinity];
        StoredLogprobRescale.Apply(withZero, 2.0);
        Assert.Equal(0.0, withZero[0], 6);
        Assert.Equal(float.NegativeInfinity, withZero[1]);
    }

    [Fact]
    public void Logprobs_at_the_kd_temperature_are_kept_as_stored()
    {
        // Raw logprobs describe temperature 1 whatever the sampling temperature was.
        Assert.True(StoredLogprobRescale.For(new LogprobProvenance(0.7, 0.9, 20, Raw: true), 1.0).KeepsStoredValues);
        // Processed at 0.7 and compared at 0.7: the distribution as sampled, top-p cut included.
        Assert.True(StoredLogprobRescale.For(Processed(0.7, topP: 0.9), 0.7).KeepsStoredValues);
        // Sampled at temperature 1 without top-p: temperature 1 either way.
        Assert.True(StoredLogprobRescale.For(new LogprobProvenance(1.0, null, 5, Raw: null), 1.0).KeepsStoredValues);
        // Not recorded (datasets written before provenance): read as temperature 1, as always.
        Assert.True(StoredLogprobRescale.For(null, 1.0).KeepsStoredValues);
    }

    [Fact]
    public void Logprobs_at_another_temperature_rescale_by_the_ratio()
    {
        Assert.Equal(new StoredLogprobRescale(0.5, null), StoredLogprobRescale.For(Processed(0.5), 1.0));
        Assert.Equal(new StoredLogprobRescale(0.5, null), StoredLogprobRescale.For(new LogprobProvenance(0.7, null, 20, Raw: true), 2.0));
        Assert.Equal(new StoredLogprobRescale(0.35, null), StoredLogprobRescale.For(Processed(0.7, topP: 1.0), 2.0));
    }

    [Fact]
    public void A_rescale_the_math_does_not_allow_is_refused_with_its_reason()
    {
        Assert.Contains("top-p 0.9", StoredLogprobRescale.For(Processed(0.7, topP: 0.9), 1.0).Refusal);
        Assert.Contains("did not say whether they are cut", StoredLogprobRescale.For(new LogprobProvenance(1.0, 0.9, 5, Raw: null), 2.0).Refusal);
        Assert.Contains("unknown", StoredLogprobRescale.For(new LogprobProvenance(0.7, null, 5, Raw: null), 1.0).Refusal);
        Assert.Contains("temperature 0", StoredLogprobRescale.For(Processed(0.0), 1.0).Refusal);
        Assert.Contains("does not record", StoredLogprobRescale.For(null, 2.0).Refusal);
    }

    [Fact]
    public void Stored_logprobs_need_one_kd_temperature_over_the_run()
    {
        Assert.Equal(2.0, StoredLogprobRescale.KdTemperature(Schedule.Constant(2.0)));
        Assert.Equal(1.5, StoredLogprobRescale.KdTemperature(new Schedule(ScheduleKind.Linear, 1.5, 1.5)));
        var e = Assert.Throws<DistillException>(() => StoredLogprobRescale.KdTemperature(new Schedule(ScheduleKind.Linear, 2.0, 1.0)));
        Assert.Contains("from 2 to 1", e.Message);
        Assert.Contains("constant loss.temperature", e.OneLine);
    }

    [Fact]
    public void The_encoder_rescales_each_turns_kept_top_k_to_the_kd_temperature()
    {
        // The fixture stores (-0.2, -2, -3) per token; processed at T1 = 0.5 and compared at T2 = 1 they become
        // log softmax(-0.1, -1, -1.5) = (-0.50269, -1.40269, -1.90269).
        var sample = WithFinalProvenance(fx.Samples[2], Processed(0.5));
        var encoded = new SampleEncoder(fx.Tokenizer, 4096, 3, logprobTemperature: 1.0).Encode(sample);
        Assert.Equal(1, encoded.TurnsRescaled);
        var ex = encoded.Examples.Single();
        var rows = Enumerable.Range(0, ex.Length).Where(t => ex.TopKIds![t * 3] >= 0).ToList();
        Assert.Equal(sample.Messages[^1].Logprobs.Count, rows.Count);
        foreach (var t in rows)
        {
            Assert.Equal(-0.50269, ex.TopKLogprobs![t * 3], 4);
            Assert.Equal(-1.40269, ex.TopKLogprobs![t * 3 + 1], 4);
            Assert.Equal(-1.90269, ex.TopKLogprobs![t * 3 + 2], 4);
        }

        // At T2 = T1 the stored values stay, tail mass included.
        var same = new SampleEncoder(fx.Tokenizer, 4096, 3, logprobTemperature: 0.5).Encode(sample);
        Assert.Equal(0, same.TurnsRescaled);
        Assert.Equal(-0.2f, same.Examples.Single().TopKLogprobs![rows[0] * 3], 5);
    }

    [Fact]
    public void The_encoder_refuses_a_turn_it_cannot_rescale_naming_the_sample_and_the_reason()
    {
        var sample = WithFinalProvenance(fx.Samples[2], Processed(0.7, topP: 0.9));
        var e = Assert.Throws<DistillException>(() => new SampleEncoder(fx.Tokenizer, 4096, 3, logprobTemperature: 1.0).Encode(sample));
        Assert.Contains(sample.Id, e.Message);
        Assert.Contains("top-p 0.9", e.Message);
        // Without logit KD (top-k 0) the logprobs are not used, so nothing is refused.
        new SampleEncoder(fx.Tokenizer, 4096, 0, logprobTemperature: 1.0).Encode(sample);
    }

    [Fact]
    public void Preflight_reports_a_dataset_that_mixes_logprob_settings()
    {
        IReadOnlyDictionary<string, long> mixed = new Dictionary<string, long> { ["local/t: a"] = 3, ["local/t: b"] = 1 };
        IReadOnlyDictionary<string, long> single = new Dictionary<string, long> { ["local/t: a"] = 2 };
        var lines = TokenizerPreflight.DescribeStoredLogprobs(new Dictionary<string, IReadOnlyDictionary<string, long>> { ["d1"] = mixed, ["d2"] = single });
        Assert.Equal(["logprobs: dataset 'd1' mixes settings: local/t: a (3 turns); local/t: b (1 turns)", "logprobs: dataset 'd2': local/t: a (2 turns)"], lines);

        IReadOnlyDictionary<string, long> other = new Dictionary<string, long> { ["local/t: b"] = 2 };
        var across = TokenizerPreflight.DescribeStoredLogprobs(new Dictionary<string, IReadOnlyDictionary<string, long>> { ["d1"] = single, ["d2"] = other });
        Assert.Equal("logprobs: the 2 datasets mix settings (2 different ones)", across[^1]);
    }

    [Fact]
    public void Training_data_counts_turns_by_logprob_provenance_per_dataset()
    {
        var provenance = new LogprobProvenance(0.7, null, 3, Raw: true);
        var samples = new[] { ("a", WithFinalProvenance(fx.Samples[2], provenance)), ("a", fx.Samples[3]) };
        var data = TrainingData.FromSamples(samples, new SampleEncoder(fx.Tokenizer, 4096, 3), 0);
        var counts = data.Statistics.LogprobProvenance!["a"];
        Assert.Equal(2, counts.Count);
        Assert.Equal(1, counts[$"local/fixture-teacher: {provenance.Describe()}"]);
        Assert.Equal(1, counts["local/fixture-teacher: not recorded"]);
    }

    [Fact]
    public void A_token_that_is_part_of_a_utf8_character_aligns_by_its_stored_id_and_is_never_guessed_from_its_text()
    {
        // "€" is three UTF-8 bytes the fixture's byte-level BPE never merged: three tokens, each half a character.
        var sample = fx.MakeSample("utf8", [ChatMessage.User("What is the fee?"), ChatMessage.Assistant("The fee is 12 € now.")], fx.Tokenizer.TokenizerId);
        var stored = sample.Messages[^1].Logprobs;
        Assert.Contains(stored, l => fx.Tokenizer.Decode([l.TokenId!.Value]).Contains('\uFFFD', StringComparison.Ordinal));

        // With the ids Distill's server sends: every token is placed, the partial ones included, and no text is mapped back.
        var withIds = new SampleEncoder(fx.Tokenizer, 4096, 3).Encode(sample);
        Assert.Equal(1, withIds.TurnsAligned);
        Assert.Equal(0, withIds.TurnsIdsFromText);
        var ex = withIds.Examples.Single();
        Assert.Equal(stored.Count, Enumerable.Range(0, ex.Length).Count(t => ex.TopKIds![t * 3] >= 0));

        // Text only, as a foreign OpenAI-format API returns it: a partial token's text is U+FFFD, which many ids decode to, so
        // the reconstruction gives it no id and the turn trains with cross-entropy only, never on a guessed id.
        var textOnly = TrainingFixture.WithFinalLogprobs(sample, stored.Select(l => new TokenLogprob(fx.Tokenizer.Decode([l.TokenId!.Value]), null, l.Logprob,
            l.Top.Select(t => new TopLogprob(fx.Tokenizer.Decode([t.TokenId!.Value]), null, t.Logprob)).ToList())).ToList());
        var fromText = new SampleEncoder(fx.Tokenizer, 4096, 3).Encode(textOnly);
        Assert.True(fromText.HadLogprobs);
        Assert.Equal(1, fromText.TurnsIdsFromText);
        Assert.False(fromText.LogprobsAligned);
        Assert.Null(fromText.Examples.Single().TopKIds);
    }

    private static Sample WithFinalProvenance(Sample sample, LogprobProvenance provenance)
    {
        var last = sample.Messages.ToList().FindLastIndex(m => m.Role == ChatRoles.Assistant);
        return sample with { Messages = [.. sample.Messages.Take(last), sample.Messages[last] with { LogprobProvenance = provenance }, .. sample.Messages.Skip(last + 1)] };
    }
}
