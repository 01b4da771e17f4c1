using Distill.Models.Generation;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Generation;

public class PrefixCacheTests : TorchTest
{
    /// <summary>One layer of keys and values for a prompt, each value its position (so a test can tell rows apart).</summary>
    static (Tensor Keys, Tensor Values)[] Layers(int length) =>
        [(arange(length, dtype: ScalarType.Float32).view(1, 1, length, 1), arange(length, dtype: ScalarType.Float32).view(1, 1, length, 1))];

    [Fact]
    public void The_longest_stored_prefix_is_found_and_the_last_prompt_token_is_never_reused()
    {
        using var cache = new PrefixCache(minimumMatch: 3);
        cache.Add([1, 2, 3, 4], Layers(4));
        cache.Add([1, 2, 9, 9, 9], Layers(5));

        Assert.Equal(4, cache.Match([1, 2, 3, 4, 5, 6]).Length);
        Assert.Equal(3, cache.Match([1, 2, 3, 4]).Length); // the same prompt: its last token is run again, for its logits
        Assert.Equal(3, cache.Match([1, 2, 9, 7]).Length);
        Assert.Equal(0, cache.Match([1, 2, 5]).Length);    // 2 shared tokens: under the minimum
        Assert.Null(cache.Match([8, 8, 8, 8]).Entry);
    }

    [Fact]
    public void A_prompt_that_extends_a_stored_one_replaces_it_and_the_least_recently_used_go_first_beyond_the_budget()
    {
        using var cache = new PrefixCache(byteBudget: 10 * 8, minimumMatch: 1); // 10 tokens of one float key and one float value
        cache.Add([1, 2, 3], Layers(3));
        cache.Add([1, 2, 3, 4, 5], Layers(5)); // covers [1, 2, 3]
        Assert.Equal(1, cache.Prompts);

        cache.Add([7, 7, 7, 7], Layers(4));    // 9 tokens stored
        Assert.Equal(5, cache.Match([1, 2, 3, 4, 5, 6]).Length); // [1..5] is now the most recently used
        cache.Add([8, 8], Layers(2));          // 11 > 10: [7, 7, 7, 7] goes

        Assert.Equal(2, cache.Prompts);
        Assert.Equal(0, cache.Match([7, 7, 7, 7, 1]).Length);
        Assert.Equal(5, cache.Match([1, 2, 3, 4, 5, 9]).Length);
    }
}
