namespace Distill.Models.Tests.Tokenization;

/// <summary>Deterministic multilingual text for training test tokenizers; no downloads.</summary>
internal static class TrainingCorpus
{
    private static readonly string[] Sentences =
    [
        "Where is my order? It was supposed to arrive on Tuesday.",
        "The refund policy allows returns within 30 days of delivery.",
        "Please look up order A-10023 and tell me the shipment status.",
        "Le café est très bon, mais l'addition était élevée.",
        "Schöne Grüße aus München! Die Straße ist gesperrt.",
        "東京の天気は晴れです。注文番号を教えてください。",
        "你好，世界！我的订单在哪里？",
        "Das ist 100% richtig 🎉🚀 — thanks! 👍🏽",
        "    indented code:\n\tdef total(x):\n\t\treturn x * 1.25\n",
        "{\"name\": \"lookup_order\", \"arguments\": {\"order_id\": \"A-10023\"}}",
        "Line one\n\nLine two\r\nLine three   with   spaces.",
        "The customer's package hasn't shipped; we'll refund it if they'd like.",
    ];

    public static IEnumerable<string> Documents(int count)
    {
        var random = new Random(1234);
        for (var i = 0; i < count; i++)
        {
            var parts = Enumerable.Range(0, 4).Select(_ => Sentences[random.Next(Sentences.Length)]);
            yield return string.Join(random.Next(2) == 0 ? " " : "\n", parts) + $" #{random.Next(1000)}";
        }
    }

    /// <summary>
    /// About <paramref name="characters"/> of text over a large made-up vocabulary with Zipf-like word frequencies,
    /// so training has tens of thousands of distinct words and never runs out of pairs, as with real prose.
    /// </summary>
    public static IEnumerable<string> ZipfText(int characters, int seed = 7)
    {
        string[] syllables = ["ka", "to", "re", "mi", "sun", "el", "ar", "ion", "st", "qu", "ph", "or", "an", "de", "li", "ver", "é", "ü", "ß", "中", "文"];
        var random = new Random(seed);
        var lexicon = Enumerable.Range(0, 30_000)
            .Select(_ => string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => syllables[random.Next(syllables.Length)])))
            .ToArray();
        var produced = 0;
        while (produced < characters)
        {
            var line = new System.Text.StringBuilder();
            for (var w = 0; w < 12; w++)
            {
                // Cubing a uniform draw favours low indices: a few very common words and a long tail.
                var u = random.NextDouble();
                line.Append(lexicon[(int)(u * u * u * lexicon.Length)]).Append(random.Next(10) == 0 ? ", " : " ");
            }
            line.Append(random.Next(100_000)).Append(".\n");
            produced += line.Length;
            yield return line.ToString();
        }
    }
}
