"""Invented people for the demo: plausible Cantonese-region names, fictional phones."""

from __future__ import annotations

import random
import uuid

# Common surnames in western Guangdong, most frequent first (weights roughly follow).
SURNAMES = "陈李黄梁林张罗何邓吴冯彭谭苏卢莫欧杨严廖赖曾叶周"
GIVEN = "志伟建华国明海燕丽珍英德文杰俊红玉芳军勇强平辉冰雪秀兰雄斌东永嘉锦荣碧"
# 100-0766-xxxx: eleven digits like a mobile number, with Yunfu's area code, but 100 is
# not a mobile prefix, so no demo number can ring a real person.
PHONE_PREFIX = "1000766"


class PeopleMaker:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.made = 0

    def name(self) -> str:
        rng = self.rng
        surname = SURNAMES[min(int(rng.expovariate(0.12)), len(SURNAMES) - 1)]
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
        return surname + given

    def phone(self) -> str:
        return f"{PHONE_PREFIX}{self.rng.randint(0, 9999):04d}"

    def person(self) -> dict:
        self.made += 1
        return {"id": uuid.UUID(int=self.rng.getrandbits(128), version=4),
                "name": self.name(), "phone": self.phone()}
