"""The Media Edge API (Adobe Experience Platform Edge's ``/ee/va/v1/{eventName}``) as a
protocol adapter: XDM bodies validated by Structs built from the mapping tables, decoded into
the same canonical events as the Collection API's, with problem+json answers of its own."""
