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
}
