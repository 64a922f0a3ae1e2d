"""The creator's library: folders, favourites, search, share links and imported archives."""
