namespace LibraryTools;

/// <summary>The catalogue: each title with its author and either the shelf a copy stands on or the day the first copy is due back.</summary>
internal static class Catalogue
{
    private sealed record Book(string Title, string Author, string? Shelf, int Copies, string? DueBack);

    private static readonly Book[] Books =
    [
        new("The Hobbit", "J. R. R. Tolkien", "823 TOL", 2, null),
        new("Dune", "Frank Herbert", null, 0, "2026-12-10"),
        new("Emma", "Jane Austen", "823 AUS", 1, null),
        new("Beloved", "Toni Morrison", null, 0, "2026-12-18"),
        new("Middlemarch", "George Eliot", "823 ELI", 3, null),
        new("Ulysses", "James Joyce", null, 0, "2027-01-05"),
        new("Persuasion", "Jane Austen", "823 AUS", 2, null),
        new("Rebecca", "Daphne du Maurier", null, 0, "2026-12-22"),
        new("Walden", "Henry David Thoreau", "818 THO", 1, null),
    ];

    public static string Describe(string title)
    {
        var book = Books.FirstOrDefault(b => string.Equals(b.Title, title.Trim(), StringComparison.OrdinalIgnoreCase));
        if (book is null) return $"No book titled '{title}' is in the catalogue.";
        return book.Shelf is not null
            ? $"{book.Title} by {book.Author}: available, {book.Copies} {(book.Copies == 1 ? "copy" : "copies")} on shelf {book.Shelf}."
            : $"{book.Title} by {book.Author}: not available, every copy is on loan; the first is due back on {book.DueBack}.";
    }
}
