namespace Distill.World.Store;

/// <summary>Help-centre articles and a small keyword search over them (term overlap, title terms weighted double).</summary>
public sealed class KnowledgeBase(IReadOnlyList<KnowledgeArticle> articles)
{
    public IReadOnlyList<KnowledgeArticle> Articles { get; } = articles;

    public static readonly IReadOnlyList<KnowledgeArticle> Default =
    [
        new("kb-returns", "How to return an item", "Start a return from Orders > Return item and drop the parcel at any carrier point within 14 days."),
        new("kb-refund-time", "When will I get my refund", "Refunds reach the original payment method within 5 business days after we receive the item."),
        new("kb-shipping-times", "Shipping times", "Standard shipping takes 3 to 5 business days; express shipping takes 1 to 2 business days."),
        new("kb-change-address", "Change the delivery address", "The delivery address can be changed while the order is processing. Shipped orders cannot be redirected."),
        new("kb-cancel", "Cancel an order", "Orders can be cancelled from Orders > Cancel while they are processing."),
        new("kb-warranty", "Warranty", "Electronics carry a 1-year manufacturer warranty."),
        new("kb-payment", "Payment methods", "We accept credit cards, debit cards and gift cards."),
        new("kb-password", "Reset your password", "Use Forgot password on the sign-in page; the reset link is valid for 30 minutes."),
        new("kb-price-match", "Price match", "We match a lower price from our own store within 7 days; competitor prices are not matched."),
        new("kb-damaged", "Damaged items", "If an item arrives damaged, request a refund or replacement within 60 days of delivery."),
    ];

    public IReadOnlyList<KnowledgeArticle> Search(string query, int limit = 3)
    {
        var terms = Terms(query);
        return Articles
            .Select(a => (Article: a, Score: 2 * Terms(a.Title).Intersect(terms).Count() + Terms(a.Body).Intersect(terms).Count()))
            .Where(x => x.Score > 0)
            .OrderByDescending(x => x.Score)
            .ThenBy(x => x.Article.Id, StringComparer.Ordinal)
            .Take(limit)
            .Select(x => x.Article)
            .ToList();
    }

    private static readonly HashSet<string> StopWords =
        ["a", "an", "the", "to", "of", "my", "i", "is", "do", "how", "can", "what", "when", "will", "and", "or", "for", "in", "it", "get", "be",
         "you", "your", "does", "are", "there", "me", "much", "which", "long", "if", "from", "with", "we", "our", "after", "on", "take"];

    private static HashSet<string> Terms(string text) => text
        .ToLowerInvariant()
        .Split([' ', ',', '.', '?', '!', '>', ':', ';', '-', '\n', '\''], StringSplitOptions.RemoveEmptyEntries)
        .Select(t => t.TrimEnd('s'))
        .Where(t => t.Length > 1 && !StopWords.Contains(t))
        .ToHashSet();
}
