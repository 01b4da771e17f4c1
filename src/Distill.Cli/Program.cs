System.Console.WriteLine("distill");
