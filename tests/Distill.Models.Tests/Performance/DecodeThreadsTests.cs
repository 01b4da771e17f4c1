using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Performance;
using Distill.Models.Tests.Llama;
using static TorchSharp.torch;

namespace Distill.Models.Tests.Performance;

/// <summary>Decode steps run on one intra-op thread, split-K products widen back, and the count is always restored.</summary>
public class DecodeThreadsTests : TorchTest
{
    [Fact]
    public void A_step_runs_on_one_thread_wide_restores_the_count_for_split_k_and_everything_is_restored()
    {
        var before = get_num_threads();
        set_num_threads(2);
        try
        {
            Assert.Equal(2, DecodeThreads.Available);
            using (DecodeThreads.Wide()) Assert.Equal(2, get_num_threads()); // outside a step: nothing changes
            using (DecodeThreads.OneThreadStep())
            {
                Assert.Equal(1, get_num_threads());
                Assert.Equal(2, DecodeThreads.Available);
                using (DecodeThreads.OneThreadStep()) Assert.Equal(1, get_num_threads()); // nested: no change
                Assert.Equal(2, DecodeThreads.Available);
                using (DecodeThreads.Wide()) Assert.Equal(2, get_num_threads());
                Assert.Equal(1, get_num_threads());
            }
            Assert.Equal(2, get_num_threads());
            Assert.Equal(2, DecodeThreads.Available);
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void Generation_leaves_the_thread_count_as_it_found_it_and_gives_the_same_tokens()
    {
        var before = get_num_threads();
        set_num_threads(2);
        try
        {
            using var m = new LlamaForCausalLM(TestConfigs.Tiny(tied: true)).Freeze();
            var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 6 };
            var onTwo = LlamaGenerator.Generate(m, [[1, 5, 9, 2], [7, 3, 4, 4]], options);
            Assert.Equal(2, get_num_threads());
            set_num_threads(1);
            var onOne = LlamaGenerator.Generate(m, [[1, 5, 9, 2], [7, 3, 4, 4]], options);
            Assert.Equal(onOne.Select(r => r.TokenIds), onTwo.Select(r => r.TokenIds));
        }
        finally
        {
            set_num_threads(before);
        }
    }
}
