"""What every part of Ringcard uses: phone numbers, lines, money, masking. Imports nothing else from app."""
