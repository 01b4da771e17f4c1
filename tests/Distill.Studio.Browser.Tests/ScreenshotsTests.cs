using SkiaSharp;

namespace Distill.Studio.Browser.Tests;

/// <summary>The non-blank check of the screenshots, on images whose colours are counted by hand.</summary>
public class ScreenshotsTests
{
    private static byte[] Png(params SKColor[] pixels)
    {
        using var bitmap = new SKBitmap(pixels.Length, 1);
        for (var x = 0; x < pixels.Length; x++) bitmap.SetPixel(x, 0, pixels[x]);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public void A_blank_image_is_all_one_colour()
    {
        var png = Png(SKColors.White, SKColors.White, SKColors.White, SKColors.White);

        Assert.Equal(1.0, Screenshots.DominantColourShare(png));
        Assert.Equal(1, Screenshots.DistinctColours(png));
    }

    [Fact]
    public void A_drawn_image_counts_its_colours_and_the_share_of_the_commonest()
    {
        var png = Png(SKColors.White, SKColors.White, SKColors.Red, SKColors.Blue);

        Assert.Equal(0.5, Screenshots.DominantColourShare(png));
        Assert.Equal(3, Screenshots.DistinctColours(png));
    }
}
