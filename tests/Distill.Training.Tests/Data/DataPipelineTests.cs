using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Tokenization;
using Distill.Training.Data;

namespace Distill.Training.Tests.Data;

[Collection(TrainingCollection.Name)]
public class DataPipelineTests(TrainingFixture fx)
{
    private SampleEncoder Encoder(int maxLength = 4096, int topK = 0) => new(fx.Tokenizer, maxLength, topK);

    [Fact]
    public void Labels_are_only_on_assistant_tokens_and_shifted_by_one()
    {
        var sample = fx.Samples[0];
        var chat = new ChatTemplate().Tokenize(fx.Tokenizer, sample.Messages, sample.Tools);
        var ex = Encoder().Encode(sample).Examples.Single();
        Assert.Equal(chat.Ids.Length - 1, ex.Length);
        for (var t = 0; t < ex.Length; t++)
        {
            Assert.Equal(chat.Ids[t], ex.InputIds[t]);
            Assert.Equal(chat.AssistantMask[t + 1] ? chat.Ids[t + 1] : -100, ex.Labels[t]);
        }
        // Tool calls and the final answer are assistant text; the system prompt, tools, user turn and tool results are not.
        var labelled = fx.Tokenizer.Decode(ex.Labels.Where(l => l >= 0));
        Assert.Contains("<tool_call>", labelled);
        Assert.DoesNotContain("<tool_response>", labelled);
        Assert.DoesNotContain(sample.Messages.First(m => m.Role == ChatRoles.User).Content!, labelled);
        Assert.True(ex.LabelCount > 0 && ex.LabelCount < ex.Length / 2);
    }

    [Fact]
    public void Truncation_keeps_the_beginning_or_the_end_with_its_aligned_logprobs()
    {
        var full = Encoder(topK: 3).Encode(fx.Samples[1]).Examples[0];
        var right = Encoder(maxLength: 32).Encode(fx.Samples[1]);
        Assert.True(right.Truncated);
        Assert.Equal(full.InputIds.Take(32), right.Examples[0].InputIds);
        var left = new SampleEncoder(fx.Tokenizer, 32, 3, keepEnd: true).Encode(fx.Samples[1]).Examples[0];
        Assert.Equal(full.InputIds.Skip(full.Length - 32), left.InputIds);
        Assert.Equal(full.Labels.Skip(full.Length - 32), left.Labels);
        Assert.Equal(full.TopKIds!.Skip((full.Length - 32) * 3), left.TopKIds!);
    }

    [Fact]
    public void Packing_gives_full_rows_of_b_by_t_with_padding_only_at_the_end()
    {
        var examples = fx.Samples.Take(10).Select(s => Encoder().Encode(s).Examples[0]).ToList();
        var plan = new BatchPlan(examples, batchSize: 3, seqLen: 50, BatchingMode.Pack, seed: 1, topK: 0, padId: 0);
        var batches = plan.Epoch(0);
        var total = examples.Sum(e => e.Length);
        Assert.Equal((int)Math.Ceiling(Math.Ceiling(total / 50.0) / 3), batches.Count);
        // Every batch but the last holds full rows; the last is as wide as its longest row, rounded up to a multiple of 8.
        Assert.All(batches.SkipLast(1), b => Assert.Equal(3 * 50, b.InputIds.Length));
        Assert.Equal(ExpectedWidth(batches[^1], seqLen: 50), batches[^1].SeqLen);
        Assert.Equal(3 * batches[^1].SeqLen, batches[^1].InputIds.Length);
        Assert.Equal(total, batches.Sum(b => b.Tokens));
        // All rows but the last real one are full; every padded position has no label.
        for (var i = 0; i < batches[0].AttentionMask.Length; i++) Assert.Equal(1, batches[0].AttentionMask[i]);
        foreach (var b in batches)
            for (var i = 0; i < b.AttentionMask.Length; i++)
                if (b.AttentionMask[i] == 0) Assert.Equal(-100, b.Labels[i]);
        Assert.Equal(examples.Sum(e => e.LabelCount), batches.Sum(b => b.Labels.Count(l => l != -100)));
    }

    [Fact]
    public void Bucketing_pads_each_example_to_the_batch_width_and_masks_the_padding()
    {
        var examples = fx.Samples.Take(9).Select(s => Encoder(maxLength: 2000).Encode(s).Examples[0]).ToList();
        var plan = new BatchPlan(examples, batchSize: 4, seqLen: 2000, BatchingMode.Bucket, seed: 1, topK: 0, padId: 3);
        var batches = plan.Epoch(0);
        Assert.Equal(3, batches.Count); // ceil(9 / 4), the last filled with empty rows
        var lengths = batches.SelectMany(RowLengths).Where(n => n > 0).Order();
        Assert.Equal(examples.Select(e => (long)Math.Min(2000, e.Length)).Order(), lengths);
        foreach (var b in batches)
        {
            // T is the longest row rounded up to a multiple of 8: the columns past it would only be padding.
            Assert.Equal(ExpectedWidth(b, seqLen: 2000), b.SeqLen);
            Assert.Equal(4 * b.SeqLen, b.InputIds.Length);
            for (var i = 0; i < b.InputIds.Length; i++)
                if (b.AttentionMask[i] == 0)
                {
                    Assert.Equal(3, b.InputIds[i]);
                    Assert.Equal(-100, b.Labels[i]);
                }
        }
    }

    /// <summary>Real tokens in each row of <paramref name="b"/>, read from its attention mask.</summary>
    private static long[] RowLengths(HostBatch b) =>
        Enumerable.Range(0, b.BatchSize).Select(r => b.AttentionMask.Skip(r * b.SeqLen).Take(b.SeqLen).Sum()).ToArray();

    /// <summary>The width a batch should have: its longest row rounded up to a multiple of 8, at most <paramref name="seqLen"/>.</summary>
    private static int ExpectedWidth(HostBatch b, int seqLen) => (int)Math.Min(seqLen, (RowLengths(b).Max() + 7) / 8 * 8);

    [Fact]
    public void Shuffle_is_deterministic_per_seed_and_epoch()
    {
        var examples = fx.Samples.Take(12).Select(s => Encoder().Encode(s).Examples[0]).ToList();
        long[] Tokens(int seed, int epoch) => new BatchPlan(examples, 2, 64, BatchingMode.Pack, seed, 0, 0).Epoch(epoch).SelectMany(b => b.InputIds).ToArray();
        Assert.Equal(Tokens(3, 0), Tokens(3, 0));
        Assert.NotEqual(Tokens(3, 0), Tokens(3, 1));
        Assert.NotEqual(Tokens(3, 0), Tokens(4, 0));
        Assert.Equal(Tokens(3, 0).Order(), Tokens(4, 0).Order());
    }

    [Fact]
    public void A_stream_restored_from_its_position_continues_with_the_same_batches()
    {
        var examples = fx.Samples.Take(12).Select(s => Encoder().Encode(s).Examples[0]).ToList();
        var plan = new BatchPlan(examples, 2, 64, BatchingMode.Pack, 9, 0, 0);
        var a = new BatchStream(plan);
        for (var i = 0; i < plan.Epoch(0).Count + 2; i++) a.Next(); // into the second epoch
        var saved = a.Position;
        var expected = Enumerable.Range(0, 5).Select(_ => a.Next().InputIds).ToList();
        var b = new BatchStream(new BatchPlan(examples, 2, 64, BatchingMode.Pack, 9, 0, 0), saved);
        Assert.Equal(1, saved.Epoch);
        Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => b.Next().InputIds).ToList());
    }

    [Fact]
    public void Split_by_id_is_stable_and_near_the_fraction()
    {
        var ids = Enumerable.Range(0, 4000).Select(i => $"sample-{i}").ToList();
        var val = ids.Where(id => DatasetSplit.IsValidation(id, 0.1)).ToList();
        Assert.InRange(val.Count, 320, 480);
        Assert.Equal(val, ids.AsEnumerable().Reverse().Where(id => DatasetSplit.IsValidation(id, 0.1)).Reverse().ToList());
        Assert.Equal(DatasetSplit.Bucket("trace-000"), DatasetSplit.Bucket("trace-000"));
        Assert.InRange(DatasetSplit.Bucket("trace-000"), 0.0, 1.0);
    }

    [Fact]
    public void Stored_logprobs_align_to_the_positions_that_predict_their_tokens()
    {
        var sample = fx.Samples[2];
        var ex = Encoder(topK: 3).Encode(sample).Examples.Single();
        Assert.NotNull(ex.TopKIds);
        var rows = Enumerable.Range(0, ex.Length).Where(t => ex.TopKIds![t * 3] >= 0).ToList();
        Assert.Equal(sample.Messages[^1].Logprobs.Count, rows.Count);
        foreach (var (t, j) in rows.Select((t, j) => (t, j)))
        {
            // Row t predicts the next token, which is the stored token j; its top-1 is that token.
            Assert.Equal(sample.Messages[^1].Logprobs[j].TokenId, ex.Labels[t]);
            Assert.Equal(ex.Labels[t], ex.TopKIds![t * 3]);
            Assert.Equal(-0.2f, ex.TopKLogprobs![t * 3], 5);
            Assert.Equal(-2.0f, ex.TopKLogprobs![t * 3 + 1], 5);
        }
        // The stored tokens are the final answer: the last one is followed by <|im_end|> and the closing newline.
        Assert.Equal(ex.Length - 3, rows[^1]);
    }

    [Fact]
    public void Logprobs_stored_as_token_text_through_an_api_align_like_ones_with_ids()
    {
        // What an OpenAI-format server returns: each token's text, no ids (alternatives too).
        var sample = fx.Samples[2];
        var textOnly = TrainingFixture.WithFinalLogprobs(sample,
            sample.Messages[^1].Logprobs.Select(l => new TokenLogprob(fx.Tokenizer.Decode([l.TokenId!.Value]), null, l.Logprob,
                l.Top.Select(t => new TopLogprob(fx.Tokenizer.Decode([t.TokenId!.Value]), null, t.Logprob)).ToList())).ToList());
        var withIds = Encoder(topK: 3).Encode(sample).Examples.Single();
        var encoded = Encoder(topK: 3).Encode(textOnly);
        Assert.True(encoded.LogprobsAligned);
        var fromText = encoded.Examples.Single();
        var index = new TokenTextIndex(fx.Tokenizer);
        for (var t = 0; t < withIds.Length; t++)
        {
            // Same rows, and in each row the alternatives whose text names one id, in the same order with the same logprobs
            // (an alternative whose text several ids decode to is dropped, never guessed).
            var expected = Enumerable.Range(0, 3).Select(k => (Id: withIds.TopKIds![t * 3 + k], Lp: withIds.TopKLogprobs![t * 3 + k]))
                .Where(a => a.Id >= 0 && index.IdOf(fx.Tokenizer.Decode([(int)a.Id])) is not null).ToList();
            var actual = Enumerable.Range(0, 3).Select(k => (Id: fromText.TopKIds![t * 3 + k], Lp: fromText.TopKLogprobs![t * 3 + k]))
                .Where(a => a.Id >= 0).ToList();
            Assert.Equal(expected, actual);
        }
        Assert.Equal(Enumerable.Range(0, withIds.Length).Count(t => withIds.TopKIds![t * 3] >= 0),
            Enumerable.Range(0, fromText.Length).Count(t => fromText.TopKIds![t * 3] >= 0));
    }

    [Fact]
    public void A_teacher_split_that_re_encoding_would_not_produce_is_trained_as_the_teacher_generated_it()
    {
        // Take a stored multi-character token and split it into two vocabulary tokens, as a sampling teacher may: same text,
        // ids that re-encoding the text never gives.
        var sample = fx.Samples[2];
        var index = new TokenTextIndex(fx.Tokenizer);
        var stored = sample.Messages[^1].Logprobs.ToList();
        var at = stored.FindIndex(l => fx.Tokenizer.Decode([l.TokenId!.Value]) is { Length: >= 2 } text
            && index.IdOf(text[..1]) is not null && index.IdOf(text[1..]) is not null);
        Assert.True(at >= 0, "no splittable token in the fixture");
        var text = fx.Tokenizer.Decode([stored[at].TokenId!.Value]);
        var (first, second) = (index.IdOf(text[..1])!.Value, index.IdOf(text[1..])!.Value);
        stored[at] = new TokenLogprob(text[..1], first, -0.5, [new TopLogprob(text[..1], first, -0.5)]);
        stored.Insert(at + 1, new TokenLogprob(text[1..], second, -0.25, [new TopLogprob(text[1..], second, -0.25)]));
        var split = TrainingFixture.WithFinalLogprobs(sample, stored);

        var encoded = Encoder(topK: 3).Encode(split);

        Assert.True(encoded.LogprobsAligned);
        var ex = encoded.Examples.Single();
        var rows = Enumerable.Range(0, ex.Length).Where(t => ex.TopKIds![t * 3] >= 0).ToList();
        Assert.Equal(stored.Count, rows.Count);
        // The labels are the teacher's ids, in order, and the text is unchanged.
        Assert.Equal(stored.Select(l => l.TokenId!.Value), rows.Select(t => ex.Labels[t]));
        Assert.Equal(fx.Tokenizer.Decode(Encoder().Encode(sample).Examples.Single().Labels.Where(l => l >= 0)),
            fx.Tokenizer.Decode(ex.Labels.Where(l => l >= 0)));
    }

    [Fact]
    public void Token_text_that_several_ids_decode_to_gets_no_id()
    {
        var index = new TokenTextIndex(fx.Tokenizer);
        var space = fx.Tokenizer.Encode(" order").First();
        Assert.Equal(space, index.IdOf(fx.Tokenizer.Decode([space])));
        // Lone UTF-8 continuation bytes all decode to U+FFFD: ambiguous, so never guessed.
        Assert.Null(index.IdOf("\uFFFD"));
        Assert.Null(index.IdOf("no such token text"));
    }

    [Fact]
    public void Logprobs_that_do_not_match_the_tokens_are_reported_unaligned()
    {
        var sample = TrainingFixture.WithFinalLogprobs(fx.Samples[3], [new TokenLogprob("?", 99999, -1, [])]);
        var encoded = Encoder(topK: 3).Encode(sample);
        Assert.True(encoded.HadLogprobs);
        Assert.False(encoded.LogprobsAligned);
        Assert.Null(encoded.Examples[0].TopKIds);
    }

    [Fact]
    public void Preflight_refuses_stored_logprobs_from_a_different_tokenizer_naming_both_ids()
    {
        var e = Assert.Throws<DistillException>(() => TokenizerPreflight.RequireStoredLogprobsMatch("student123",
            [("datasets/world", ["teacherabc"])]));
        Assert.Contains("student123", e.Message);
        Assert.Contains("teacherabc", e.Message);
        Assert.Contains("datasets/world", e.Message);
        Assert.Contains("sft", e.OneLine);
        TokenizerPreflight.RequireStoredLogprobsMatch("same", [("d", ["same"])]);
    }

    [Fact]
    public void Online_preflight_allows_padding_rows_and_refuses_a_different_vocabulary()
    {
        Assert.Equal(fx.Tokenizer.VocabSize, TokenizerPreflight.CheckOnlineTeacher(fx.Tokenizer, fx.Tokenizer, fx.Tokenizer.VocabSize, fx.Tokenizer.VocabSize + 64));
        var corpus = fx.Samples.Take(10).Select(s => new ChatTemplate().Render(s.Messages, s.Tools).Text);
        var other = TokenizerLoader.Create(BpeTrainer.Train(corpus, 330, ChatTokens.All));
        var e = Assert.Throws<DistillException>(() => TokenizerPreflight.CheckOnlineTeacher(fx.Tokenizer, other, 400, 400));
        Assert.Contains(fx.Tokenizer.TokenizerId, e.Message);
        Assert.Contains(other.TokenizerId, e.Message);
        Assert.Contains("vocabulary sizes", e.Message);
    }

    [Fact]
    public void Step_by_step_emits_an_answer_task_and_a_rationale_task()
    {
        var encoded = new SampleEncoder(fx.Tokenizer, 4096, stepByStep: true).Encode(fx.Samples[0]);
        Assert.Equal(2, encoded.Examples.Count);
        Assert.Equal(ExampleTask.Rationale, encoded.Examples[1].Task);
        Assert.Contains("Look up the facts", fx.Tokenizer.Decode(encoded.Examples[1].Labels.Where(l => l >= 0)));
        var plan = new BatchPlan(encoded.Examples, 2, 4096, BatchingMode.Bucket, 1, 0, 0, shuffle: false);
        var b = plan.Epoch(0)[0];
        Assert.Equal(encoded.Examples.Sum(e => e.LabelCount), b.Labels.Count(l => l >= 0) + b.RationaleLabels.Count(l => l >= 0));
        Assert.True(b.RationaleLabels.Count(l => l >= 0) > 0);
    }
}
