using Distill.Core.Samples;

namespace Distill.Studio.Tests;

public sealed class SampleTextsTests
{
    private static Sample Sample(string id, string question) => new()
    {
        Id = id,
        Kind = SampleKinds.ChainOfThought,
        Messages = [ChatMessage.User(question), ChatMessage.Assistant("ok")],
    };

    [Fact]
    public void Previews_and_matches_come_back_for_every_row_across_many_buffer_refills()
    {
        // 3,000 rows of ~1 KB and one of 3 MB: the search buffer (1 MB) slides many times and grows once.
        using var texts = SampleTexts.Create();
        var huge = new string('z', 3_000_000);
        for (var i = 0; i < 3000; i++)
            texts.Add(Sample($"s{i}", i == 1500 ? huge + " needle" : $"question {i} " + new string('y', 1000) + (i % 7 == 0 ? " Needle" : "")), null);

        var matches = texts.Matching(["needle"]);

        Assert.Equal(3000, texts.Count);
        Assert.Equal(Enumerable.Range(0, 3000).Where(i => i % 7 == 0 || i == 1500), Enumerable.Range(0, 3000).Where(i => matches[i]));
        Assert.StartsWith("question 2999 ", texts.Preview(2999));
        Assert.Equal(SampleTexts.PreviewLength + 1, texts.Preview(1500).Length);
    }

    [Fact]
    public void Non_ascii_text_is_matched_and_previewed_as_written()
    {
        using var texts = SampleTexts.Create();
        texts.Add(Sample("a", "Wo ist Bestellung Ü-12? 注文"), null);

        Assert.True(texts.Matching(["ü-12", "注文"])[0]);
        Assert.Equal("Wo ist Bestellung Ü-12? 注文", texts.Preview(0));
    }

    [Fact]
    public void No_file_is_left_behind_once_the_store_is_disposed_and_on_unix_none_is_visible_even_while_it_is_open()
    {
        var folder = Directory.CreateTempSubdirectory("distill-studio-texts-").FullName;
        try
        {
            var texts = SampleTexts.Create(folder);
            texts.Add(Sample("a", "a question"), null);
            // On Unix the file is unlinked as soon as it is opened, so not even kill -9 can leave it behind.
            if (!OperatingSystem.IsWindows()) Assert.Empty(Directory.GetFiles(folder));
            Assert.Equal("a question", texts.Preview(0));

            texts.Dispose();

            Assert.Empty(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
