using System.Text.RegularExpressions;
using Distill.Cli.Composition;
using Distill.Models.Tokenization;

namespace Distill.Cli.Tests;

public class WorldTokenizerTests
{
    // Vocabulary keys are in byte-level form, where ASCII digits stand for themselves (and some continuation bytes
    // look like '²' or '½', so \p{N} would be wrong here).
    private static readonly Regex TwoDigits = new("[0-9].*[0-9]", RegexOptions.Singleline);

    [Fact]
    public void World_tokenizer_gives_every_digit_a_token_of_its_own()
    {
        var definition = WorldTokenizer.Train();
        var tokenizer = TokenizerLoader.Create(definition);

        Assert.Equal([PreTokenizerPatterns.Qwen2], definition.SplitPatterns);
        Assert.DoesNotContain(definition.Vocab.Keys, token => TwoDigits.IsMatch(token));
        Assert.Equal(["A", "1", "0", "2", "3", "8"], tokenizer.Encode("A10238").Select(id => tokenizer.Decode([id])));
    }

    [Fact]
    public void World_tokenizer_with_the_gpt2_pattern_learns_whole_ids_as_tokens()
    {
        // The control for the test above, and what runs before the Qwen2 pattern trained.
        var definition = WorldTokenizer.Train(splitPattern: PreTokenizerPatterns.Gpt2);

        Assert.Contains(definition.Vocab.Keys, token => TwoDigits.IsMatch(token));
    }
}
