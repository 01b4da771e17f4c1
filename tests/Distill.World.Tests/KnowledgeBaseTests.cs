using Distill.World.Store;
using Distill.World.Tasks;
using static Distill.World.Tests.TestWorld;

namespace Distill.World.Tests;

public sealed class KnowledgeBaseTests
{
    [Fact]
    public void Every_seen_and_unseen_policy_wording_finds_its_article_first()
    {
        // The demonstration searches with the question itself (trailing punctuation trimmed), so that is the query here.
        var misses = WorldPhrasings.Policy
            .SelectMany(p => p.Wordings.Seen.Concat(p.Wordings.DevUnseen).Concat(p.Wordings.HeldOutUnseen).Select(w => (p.ArticleId, Wording: w)))
            .Select(x => (x.ArticleId, x.Wording, Found: TheWorld.KnowledgeBase.Search(x.Wording.TrimEnd('?', '.'), limit: 1).FirstOrDefault()?.Id))
            .Where(x => x.Found != x.ArticleId)
            .Select(x => $"'{x.Wording}' finds {x.Found ?? "nothing"}, not {x.ArticleId}")
            .ToList();

        Assert.True(misses.Count == 0, string.Join('\n', misses));
    }

    [Fact]
    public void Every_policy_fact_is_stated_by_its_article()
    {
        var articles = TheWorld.KnowledgeBase.Articles.ToDictionary(a => a.Id);

        Assert.All(WorldPhrasings.Policy, p => Assert.Contains(p.Fact, articles[p.ArticleId].Body, StringComparison.Ordinal));
        Assert.Equal(WorldPhrasings.Policy.Count, WorldPhrasings.Policy.Select(p => p.ArticleId).Distinct().Count());
    }

    [Fact]
    public void Search_ranks_by_term_overlap_and_finds_nothing_for_unknown_words()
    {
        Assert.Equal("kb-refund-time", TheWorld.KnowledgeBase.Search("how long does a refund take")[0].Id);
        Assert.Equal("kb-cancel", TheWorld.KnowledgeBase.Search("cancel an order")[0].Id);
        Assert.Empty(TheWorld.KnowledgeBase.Search("zzz qqq"));
        Assert.Empty(new KnowledgeBase(KnowledgeBase.Default).Search("the and of"));
    }
}
