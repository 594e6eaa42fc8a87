"""The stdin task the integration tests send S*: sum the integers of one line.

One statement with one example, the right program as a model would answer it, and the marker
that tells S*'s sampling prompt from its other calls (in a scripted upstream's responder).
"""

TASK = """Print the sum of the integers on the single input line.

Input
One line with integers separated by spaces.

Output
Print their sum.

Sample Input 1
1 2 3

Sample Output 1
6
"""
PROGRAM = "```python\nprint(sum(map(int, input().split())))\n```"
SAMPLING = "Write a complete Python 3 program"
"""In S*'s sampling prompt only."""
