using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Tests.Llama;

namespace Distill.Models.Tests.Generation;

public class ContinuousDecoderTests : TorchTest
{
    static LlamaForCausalLM NewModel() => new(TestConfigs.Tiny(tied: true));

    static readonly GenerationOptions Greedy = new() { Temperature = 0, PadTokenId = 0 };

    // Prompts shorter and longer than the batch's width when they join, and budgets that make rows leave at different steps.
    static readonly (long[] Prompt, int MaxNewTokens)[] Requests =
    [
        ([1, 5, 9, 2], 3),
        ([7, 3], 12),
        ([4, 4, 4, 4, 4, 4, 4], 5),
        ([8], 9),
        ([2, 6, 1], 4),
        ([9, 9, 9, 9, 9, 9, 9, 9, 9, 9], 7),
    ];

    [Fact]
    public void Requests_that_join_and_leave_a_running_batch_get_the_tokens_they_get_alone()
    {
        using var m = NewModel();
        var alone = Requests.Select(r => LlamaGenerator.Generate(m, [r.Prompt], Greedy with { MaxNewTokens = r.MaxNewTokens })[0]).ToList();
        var finished = new List<int>();
        var groups = Requests.Select((r, i) => new DecodeGroup([r.Prompt], r.MaxNewTokens, onDone: _ => finished.Add(i))).ToList();

        var queue = new Queue<DecodeGroup>(groups);
        var admissions = 0;
        ContinuousDecoder.Run(m, Greedy, maxRows: 2, free =>
        {
            Assert.InRange(free, 1, 2);
            var joining = new List<DecodeGroup>();
            while (joining.Count < free && queue.Count > 0) joining.Add(queue.Dequeue());
            if (joining.Count > 0) admissions++;
            return joining;
        });

        for (var i = 0; i < Requests.Length; i++)
        {
            Assert.Equal(alone[i].TokenIds, groups[i].Results![0].TokenIds);
            Assert.Equal(FinishReason.Length, groups[i].Results![0].FinishReason);
        }
        Assert.Equal(Requests.Length, finished.Count);
        // Requests 2-5 joined one by one as rows freed up, while request 1 (12 tokens) was still decoding...
        Assert.True(admissions >= 5, $"{admissions} admissions");
        // ...and request 2 (joined after request 0's 3 tokens, 5 of its own) was answered before it: no request waits for the longest.
        Assert.True(finished.IndexOf(2) < finished.IndexOf(1), $"finished in the order {string.Join(", ", finished)}");
    }

    [Fact]
    public void Seeded_groups_sample_the_same_tokens_in_a_shared_batch_as_alone()
    {
        using var m = NewModel();
        var sampled = new GenerationOptions { Temperature = 1.5, PadTokenId = 0 };
        var requests = new (long[][] Prompts, int MaxNewTokens, ulong Seed)[]
        {
            ([[1, 5, 9, 2], [1, 5, 9, 2]], 10, 5), // n = 2: both rows draw from the group's one generator
            ([[7, 3]], 4, 6),
            ([[4, 4, 4, 4, 4]], 8, 5),              // the same seed as the first, its own generator
            ([[8]], 6, 7),
        };
        var alone = requests.Select(r => LlamaGenerator.Generate(m, r.Prompts, sampled with { MaxNewTokens = r.MaxNewTokens, Seed = r.Seed })).ToList();
        var groups = requests.Select(r => new DecodeGroup(r.Prompts, r.MaxNewTokens, r.Seed)).ToList();

        var queue = new Queue<DecodeGroup>(groups);
        ContinuousDecoder.Run(m, sampled, maxRows: 3, free =>
        {
            var joining = new List<DecodeGroup>();
            var rows = 0;
            while (queue.Count > 0 && rows + queue.Peek().Rows <= free)
            {
                rows += queue.Peek().Rows;
                joining.Add(queue.Dequeue());
            }
            return joining;
        });

        for (var i = 0; i < requests.Length; i++)
        {
            for (var row = 0; row < requests[i].Prompts.Length; row++)
                Assert.Equal(alone[i][row].TokenIds, groups[i].Results![row].TokenIds);
        }
        Assert.NotEqual(groups[0].Results![0].TokenIds, groups[0].Results![1].TokenIds);
    }

    [Fact]
    public void Prompts_that_start_like_earlier_ones_reuse_their_keys_and_values_and_get_the_same_tokens()
    {
        using var m = NewModel();
        long[] system = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
        long[] firstTurn = [.. system, 7, 7, 2];
        long[] secondTurn = [.. firstTurn, 6, 1, 8, 2, 8, 4]; // the first turn, a reply and a tool result
        long[] otherUser = [.. system, 9, 4];
        long[] unrelated = [2, 7, 1, 8, 2, 8];
        long[][] prompts = [firstTurn, secondTurn, otherUser, unrelated, secondTurn];
        var alone = prompts.Select(p => LlamaGenerator.Generate(m, [p], Greedy with { MaxNewTokens = 5 })[0].TokenIds).ToList();
        using var prefixes = new PrefixCache(minimumMatch: 4);

        // One request at a time (as an agent's turns arrive), then the rest together in one admission.
        var groups = prompts.Select(p => new DecodeGroup([p], 5)).ToList();
        foreach (var group in groups.Take(2))
        {
            var waiting = true;
            ContinuousDecoder.Run(m, Greedy, 4, _ =>
            {
                if (!waiting) return [];
                waiting = false;
                return [group];
            }, prefixes: prefixes);
        }
        var rest = new Queue<DecodeGroup>(groups.Skip(2));
        ContinuousDecoder.Run(m, Greedy, 4, free => Enumerable.Range(0, Math.Min(free, rest.Count)).Select(_ => rest.Dequeue()).ToList(), prefixes: prefixes);

        for (var i = 0; i < prompts.Length; i++) Assert.Equal(alone[i], groups[i].Results![0].TokenIds);
        // Alone, secondTurn reuses firstTurn (15 tokens). Together, the block fed is as wide as the longest part not found
        // (unrelated: all 6 of its tokens), so otherUser reuses 14 - 6 of its 12 shared tokens and secondTurn 21 - 6.
        Assert.Equal(15 + (14 - 6) + (21 - 6), prefixes.TokensReused);
        Assert.Equal(prompts.Sum(p => p.Length) - prefixes.TokensReused, prefixes.TokensPrefilled);
    }

    [Fact]
    public void A_group_wider_than_the_batch_decodes_alone_and_an_empty_admission_ends_the_run()
    {
        using var m = NewModel();
        var wide = new DecodeGroup([[1, 5, 9, 2], [7, 3], [8]], 4);
        var asked = 0;

        ContinuousDecoder.Run(m, Greedy, maxRows: 2, free =>
        {
            asked++;
            return asked == 1 ? [wide] : [];
        });

        Assert.Equal(3, wide.Results!.Count);
        Assert.Equal(LlamaGenerator.Generate(m, [[7, 3]], Greedy with { MaxNewTokens = 4 })[0].TokenIds, wide.Results[1].TokenIds);
    }
}
